import type { IpFamily as Family } from '@egressgateway/netaddr';
import type { NftContent, NftSetDelta } from './nft-content.js';

/**
 * One kernel change. Plain data: the planner produces them, the binder executes them in order,
 * the report lists them.
 */
export type DatapathOperation =
  | { readonly op: 'tunnel-delete'; readonly name: string }
  | {
      readonly op: 'tunnel-create';
      readonly name: string;
      readonly vni: number;
      readonly port: number;
      readonly localUnderlay: string;
      readonly underlayInterface: string;
      readonly mac: string;
    }
  | { readonly op: 'tunnel-set'; readonly name: string; readonly mac: string }
  | { readonly op: 'tunnel-rp-filter'; readonly name: string; readonly value: number }
  | { readonly op: 'tunnel-address-add' | 'tunnel-address-del'; readonly name: string; readonly cidr: string }
  | { readonly op: 'fdb-add' | 'fdb-del'; readonly name: string; readonly mac: string; readonly dst: string }
  | {
      readonly op: 'neigh-add' | 'neigh-del';
      readonly name: string;
      readonly ip: string;
      readonly mac: string;
    }
  | {
      readonly op: 'route-add' | 'route-del';
      readonly family: Family;
      readonly table: number;
      readonly dst: string;
      readonly gateway: string;
      readonly dev: string;
    }
  | {
      readonly op: 'rule-add' | 'rule-del';
      readonly family: Family;
      readonly priority: number;
      readonly mark: number;
      readonly table: number;
    }
  | { readonly op: 'eip-add' | 'eip-del'; readonly address: string; readonly interface: string }
  | {
      readonly op: 'nft-replace';
      readonly content: NftContent;
      readonly egress: string;
      readonly tunnel: string;
    }
  | { readonly op: 'nft-update'; readonly deltas: readonly NftSetDelta[]; readonly content: NftContent }
  | { readonly op: 'nft-delete' };

/** Short human-readable text of an operation, for logs and reports. */
export function describeOperation(o: DatapathOperation): string {
  switch (o.op) {
    case 'tunnel-delete':
      return `tunnel-delete ${o.name}`;
    case 'tunnel-create':
      return `tunnel-create ${o.name} vni ${o.vni} port ${o.port} local ${o.localUnderlay}`;
    case 'tunnel-set':
      return `tunnel-set ${o.name} address ${o.mac} up`;
    case 'tunnel-rp-filter':
      return `tunnel-rp-filter ${o.name} ${o.value}`;
    case 'tunnel-address-add':
    case 'tunnel-address-del':
      return `${o.op} ${o.cidr} dev ${o.name}`;
    case 'fdb-add':
    case 'fdb-del':
      return `${o.op} ${o.mac} dst ${o.dst} dev ${o.name}`;
    case 'neigh-add':
    case 'neigh-del':
      return `${o.op} ${o.ip} lladdr ${o.mac} dev ${o.name}`;
    case 'route-add':
    case 'route-del':
      return `${o.op} ${o.dst} via ${o.gateway} dev ${o.dev} table ${o.table}`;
    case 'rule-add':
    case 'rule-del':
      return `${o.op} -${o.family} fwmark 0x${o.mark.toString(16)} lookup ${o.table} priority ${o.priority}`;
    case 'eip-add':
    case 'eip-del':
      return `${o.op} ${o.address} dev ${o.interface}`;
    case 'nft-replace':
      return `nft-replace structure ${o.content.structure}`;
    case 'nft-update':
      return `nft-update ${o.deltas.map((d) => `${d.set} -${d.remove.length} +${d.add.length}`).join(', ')}`;
    case 'nft-delete':
      return 'nft-delete';
  }
}
