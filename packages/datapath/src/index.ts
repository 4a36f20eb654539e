/**
 * @egressgateway/datapath: the agent's hands on the kernel. A pure planner turns (observed,
 * desired) into operations; the binder reads the kernel over netlink and nftables, executes the
 * plan and binds EIPs with a finite kernel lifetime.
 *
 * @packageDocumentation
 */
export {
  type Announcement,
  type AnnouncerTools,
  DEFAULT_TOOLS,
  type EipConflict,
  UNSOLICITED_NA_PERL,
} from './announcer.js';
export { DatapathBinder } from './binder.js';
export type { ApplyReport, DatapathBinderOptions, OperationResult, RenewReport } from './binder-types.js';
export { type Box, type BoxEntry, firstWins, subtractBox } from './boxes.js';
export {
  DatapathError,
  type DatapathErrorCode,
  InvalidStateError,
  NetlinkError,
  NftError,
} from './errors.js';
export { TUNNEL_ALIAS } from './kernel-netlink.js';
export {
  DEFAULT_OWNERSHIP,
  type MarkRoute,
  type NodeDatapathState,
  type Ownership,
  type SnatRule,
  type SteeringRule,
  type TunnelPeer,
  type TunnelState,
  validateState,
} from './model.js';
export {
  desiredNftContent,
  diffNftSets,
  type EipLease,
  elementKey,
  isEmptyState,
  NFT_SETS,
  type NftContent,
  type NftSetDelta,
  type NftSetName,
  parseNftJson,
  renderArpTable,
  renderDeleteScript,
  renderDeltaScript,
  renderFullScript,
  renderLeaseLines,
} from './nft-content.js';
export {
  EMPTY_OBSERVED,
  type ObservedAddress,
  type ObservedRoute,
  type ObservedRule,
  type ObservedState,
  type ObservedTunnel,
} from './observed.js';
export { type DatapathOperation, describeOperation } from './operations.js';
export { planDatapath, TUNNEL_RP_FILTER } from './plan.js';
export { simulateOperations } from './simulate.js';
