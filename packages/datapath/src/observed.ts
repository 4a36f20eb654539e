import type { IpFamily as Family } from '@egressgateway/netaddr';
import type { NftContent } from './nft-content.js';

/** The owned VXLAN device as read from the kernel. */
export interface ObservedTunnel {
  readonly name: string;
  readonly vni: number;
  readonly port: number;
  readonly localUnderlay: string;
  readonly learning: boolean;
  readonly mac: string;
  readonly up: boolean;
  /** `net.ipv4.conf.<dev>.rp_filter`, when readable. */
  readonly rpFilter: number;
  /** Addresses as canonical CIDR; link-local IPv6 (kernel-made) excluded. */
  readonly addresses: readonly string[];
  /** Static FDB entries (`bridge fdb ... self permanent`). */
  readonly fdb: readonly { readonly mac: string; readonly dst: string }[];
  /** Permanent neighbour entries. */
  readonly neighbours: readonly { readonly ip: string; readonly mac: string }[];
}

/** An owned ip rule (our protocol, our priority). */
export interface ObservedRule {
  readonly family: Family;
  readonly priority: number;
  readonly mark: number;
  readonly table: number;
}

/** A route in an owned table. */
export interface ObservedRoute {
  readonly family: Family;
  readonly table: number;
  /** `default` or a canonical CIDR. */
  readonly dst: string;
  readonly gateway: string;
  readonly dev: string;
}

/** An address we own (IFA_PROTO = ours) or one we merely saw (foreign). */
export interface ObservedAddress {
  readonly address: string;
  readonly interface: string;
  /** Remaining valid lifetime in seconds; `null` = forever. */
  readonly validLft: number | null;
}

/**
 * What the binder found in the kernel: only objects it owns, plus the foreign addresses on the
 * egress interface (never modified, used to refuse binding an EIP someone else configured).
 */
export interface ObservedState {
  /** The owned tunnel device, or null. */
  readonly tunnel: ObservedTunnel | null;
  readonly rules: readonly ObservedRule[];
  readonly routes: readonly ObservedRoute[];
  /** Owned EIP addresses (any interface). */
  readonly eips: readonly ObservedAddress[];
  /** Addresses on the egress interface that are not ours. */
  readonly foreignAddresses: readonly ObservedAddress[];
  /** Whether the owned nftables table exists at all. */
  readonly nftTablePresent: boolean;
  /** Its parsed content; null when absent or unrecognised (then it is rebuilt). */
  readonly nft: NftContent | null;
  /**
   * `net.ipv4.conf.all.rp_filter` and `….default.rp_filter` of the namespace (the kernel applies
   * the larger of `all` and the device's value; a new device starts with `default`). Undefined
   * when unknown: the planner then sets the tunnel's value as if strict filtering were on.
   */
  readonly rpFilterAll?: number;
  readonly rpFilterDefault?: number;
}

/** An observed state with nothing in it (a fresh node). */
export const EMPTY_OBSERVED: ObservedState = {
  tunnel: null,
  rules: [],
  routes: [],
  eips: [],
  foreignAddresses: [],
  nftTablePresent: false,
  nft: null,
};
