import {
  type IpFamily,
  type AddressPool as NetaddrPool,
  type PoolProblem,
  type PoolSegment,
  parsePool,
  poolAt,
  poolIndexOf,
} from '@egressgateway/netaddr';

/** A pool entry that could not be parsed, with the reason (see `@egressgateway/netaddr`). */
export type PoolEntryProblem = PoolProblem;
export type { PoolSegment };

/**
 * The engine's view of one family's pool: parsed by `@egressgateway/netaddr` as admission and
 * `ipUsage` read it, which is upstream's reading (one family; host bits masked; an IPv4 CIDR without
 * its network and broadcast addresses; overlapping entries merged, so `size` is the distinct count;
 * a blank entry is a problem), with the position lookups the engine calls on its hot path. No
 * parsing or arithmetic lives here.
 */
export class AddressPool {
  readonly family: IpFamily;
  readonly segments: readonly PoolSegment[];
  readonly size: bigint;
  readonly problems: readonly PoolEntryProblem[];
  private readonly pool: NetaddrPool;

  private constructor(family: IpFamily, pool: NetaddrPool) {
    this.family = family;
    this.pool = pool;
    this.segments = pool.segments;
    this.size = pool.size;
    this.problems = pool.problems;
  }

  /** Parses pool entries of one family; bad entries are reported in `problems` and skipped. */
  static parse(family: IpFamily, entries: readonly string[] | undefined): AddressPool {
    return new AddressPool(family, parsePool(entries, { family }));
  }

  /** Pool position of an address given as text, or `-1n` when it is not in the pool or does not parse. */
  indexOf(address: string): bigint {
    return poolIndexOf(this.pool, address) ?? -1n;
  }

  /** The address at a pool position (canonical text), or `null` past the end. */
  at(index: bigint): string | null {
    return poolAt(this.pool, index) ?? null;
  }
}
