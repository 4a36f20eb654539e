/**
 * @egressgateway/datapath: the agent's hands on the kernel. A pure planner turns (observed,
 * desired) into operations; the binder reads the kernel over netlink and nftables, executes the
 * plan and binds EIPs with a finite kernel lifetime.
 *
 * The export list is explicit; the nftables script renderers, the box arithmetic and the
 * announcement helpers are internal (their output is visible through `plan()` and `apply()`).
 *
 * @packageDocumentation
 */
export { type Announcement, type AnnouncerTools, DEFAULT_TOOLS, type EipConflict } from './announcer.js';
export { DatapathBinder } from './binder.js';
export type {
  ApplyReport,
  DatapathBinderOptions,
  OperationResult,
  ReleaseReport,
  RenewReport,
} from './binder-types.js';
export {
  DatapathError,
  type DatapathErrorCode,
  InvalidStateError,
  NetlinkError,
  NftError,
} from './errors.js';
export { type LinkState, type LinkWatch, watchLink } from './link-watch.js';
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
export { type EipLease, isEmptyState } from './nft-content.js';
export {
  EMPTY_OBSERVED,
  type ObservedAddress,
  type ObservedRoute,
  type ObservedRule,
  type ObservedState,
  type ObservedTunnel,
} from './observed.js';
export { type DatapathOperation, describeOperation } from './operations.js';
export { planDatapath } from './plan.js';
export { simulateOperations } from './simulate.js';
