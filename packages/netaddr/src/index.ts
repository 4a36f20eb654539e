/**
 * `@egressgateway/netaddr`: IP addresses, CIDRs, ranges, pool segments and Kubernetes label
 * selectors, parsed one way for the whole project. Zero dependencies.
 *
 * Failure convention: every function that reads text (or other untrusted input) returns a
 * {@link Result} (`{ ok: true, value }` or `{ ok: false, error }`, the error naming what is wrong and
 * how to write it); the `…OrThrow` variants throw {@link NetaddrError} and are meant for input
 * validated elsewhere. Lookups (`poolAt`, `familyOf`, …) return `undefined` for "not there".
 *
 * @packageDocumentation
 */

export {
  canonicalIp,
  canonicalIpOrText,
  canonicalIpOrThrow,
  familyBits,
  formatIp,
  type IpAddress,
  type IpFamily,
  ipFromBytes,
  ipToBytes,
  maxAddress,
  parseIp,
  parseIpOrThrow,
} from './address.js';
export {
  type Cidr,
  cidrContains,
  cidrRange,
  cidrSize,
  familyOf,
  formatCidr,
  parseCidr,
  parseIpOrCidr,
  parseIpOrCidrOrThrow,
} from './cidr.js';
export {
  type AddressPool,
  distinctPoolSize,
  findOverlaps,
  iteratePool,
  type PoolEntry,
  type PoolExclusion,
  type PoolOptions,
  type PoolOverlap,
  type PoolProblem,
  type PoolSegment,
  parsePool,
  parsePoolEntry,
  poolAt,
  poolContains,
  poolExclusionOf,
  poolIndexOf,
} from './pool.js';
export {
  type FamilyRange,
  formatRange,
  type IpRange,
  mergeRanges,
  parseRange,
  rangeContains,
  rangeSize,
} from './range.js';
export { type Err, NetaddrError, type NetaddrErrorCode, type Ok, type Result } from './result.js';
export {
  checkLabelKey,
  checkLabelValue,
  compileSelector,
  type LabelSelectorLike,
  type LabelSelectorRequirementLike,
  type Labels,
  requiredLabelAlternatives,
  type SelectorIssue,
  type SelectorMatcher,
  selectorIssues,
} from './selector.js';
