// Address claims: which EIP pair of which gateway holds each address, so overlapping pools or
// mismatched pairs can never put one address on two nodes.
import { resolvePair, usableAt } from './gateways.js';
import {
  type GatewayModel,
  isResolved,
  type ProblemSink,
  policyProblem,
  type ResolvedEip,
  type ResolvedPolicy,
} from './model.js';
import type { EipPair } from './types.js';

/** Who holds an address: one pair of one gateway, and how many policies use that pair. */
interface Claim {
  readonly gw: string;
  readonly eip: ResolvedEip;
  users: number;
}

/**
 * Address claims across all gateways: an address belongs to one EIP pair of one gateway, so overlapping
 * pools or mismatched pairs can never put one address on two nodes.
 */
export class Claims {
  private readonly owner = new Map<string, Claim>();

  /** Whether `eip` of gateway `gw` collides with an address already held by a different pair. */
  conflicts(gw: string, eip: ResolvedEip): boolean {
    return this.blocked(gw, eip, eip.ipv4) || this.blocked(gw, eip, eip.ipv6);
  }

  private blocked(gw: string, eip: ResolvedEip, address: string): boolean {
    if (address === '') return false;
    const o = this.owner.get(address);
    return o !== undefined && (o.gw !== gw || o.eip.unit !== eip.unit);
  }

  take(gw: string, eip: ResolvedEip): void {
    const existing = this.owner.get(eip.ipv4 || eip.ipv6);
    if (existing !== undefined && existing.gw === gw && existing.eip.unit === eip.unit) {
      existing.users++;
      return;
    }
    const claim: Claim = { gw, eip, users: 1 };
    if (eip.ipv4 !== '') this.owner.set(eip.ipv4, claim);
    if (eip.ipv6 !== '') this.owner.set(eip.ipv6, claim);
  }

  /**
   * Adds one more user to the pair when this gateway already holds it, with one lookup instead of
   * three: a held pair owns both its addresses (a claim is only made when neither belongs to another
   * pair, and is never replaced), so {@link conflicts} would answer false and {@link take} would count.
   */
  rejoin(gw: string, eip: ResolvedEip): boolean {
    const held = this.owner.get(eip.ipv4 || eip.ipv6);
    if (held === undefined || held.gw !== gw || (held.eip !== eip && held.eip.unit !== eip.unit))
      return false;
    held.users++;
    return true;
  }

  isFree(eip: EipPair): boolean {
    return (eip.ipv4 === '' || !this.owner.has(eip.ipv4)) && (eip.ipv6 === '' || !this.owner.has(eip.ipv6));
  }

  users(gw: string, eip: ResolvedEip): number {
    const o = this.owner.get(eip.ipv4 || eip.ipv6);
    return o !== undefined && o.gw === gw && o.eip.unit === eip.unit ? o.users : 0;
  }
}

/**
 * Claims the wanted pair of every policy of `list` in `stage` (those keeping their pair are settled
 * before the others). With `report` null it stops at the first conflict and returns false. With
 * `retry`, a policy whose pair came from its status rather than its spec (see {@link isSticky}) and
 * conflicts is put there instead of being reported, for {@link retryClaims}.
 *
 * Whether a conflict happens at all does not depend on order: two pairs either can share the claims
 * (same gateway and pair, or no common address) or not, and a claim is never replaced, so of two pairs
 * that cannot, the later one conflicts whatever the order; without conflicts every policy gets the
 * pair it wants, with the same user counts.
 */
export function settleClaims(
  list: readonly ResolvedPolicy[],
  stage: 'keep' | 'fresh',
  claims: Claims,
  report: ProblemSink | null,
  retry?: ResolvedPolicy[],
): boolean {
  for (let i = 0; i < list.length; i++) {
    const e = list[i] as ResolvedPolicy;
    if (e.stage !== stage) continue;
    const want = e.want as ResolvedEip;
    const gw = e.model as GatewayModel;
    if (!claims.rejoin(gw.name, want)) {
      if (claims.conflicts(gw.name, want)) {
        if (report === null) return false;
        if (retry !== undefined && isSticky(e)) {
          retry.push(e);
          continue;
        }
        // The message names no winner: which claim blocks first depends on claim order, and a
        // level-triggered problem must read the same on every call.
        problem(
          report,
          e,
          'EIPConflict',
          `EIP ${want.ipv4}|${want.ipv6} of gateway ${gw.name} shares an address with another EIP pair in use`,
        );
        continue;
      }
      claims.take(gw.name, want);
    }
    e.unit = want.unit;
    e.eip = want;
  }
  return true;
}

/** Whether the policy's pair comes from its status (allocation is sticky), not from its spec. */
export function isSticky(e: ResolvedPolicy): boolean {
  return e.facts.ipv4 === '' && e.facts.ipv6 === '';
}

/**
 * Policies whose sticky pair conflicts with a pair in use (a corrupt or hostile status can name
 * addresses of two pairs) get, in the order given, the next choice they would have had without
 * that pair: their own `status.eip` when it is another pair and free, else a fresh allocation
 * (`rr`: appended to `roundRobin`; `default`: the gateway's default EIP). Only when that conflicts
 * too is the conflict reported. Choosing in the same call, not in the next, keeps the engine
 * idempotent: a second call on the written result must not find anything left to allocate.
 */
export function retryClaims(
  retry: readonly ResolvedPolicy[],
  claims: Claims,
  report: ProblemSink,
  roundRobin: ResolvedPolicy[],
): void {
  for (const e of retry) {
    const gw = e.model as GatewayModel;
    const want = e.want as ResolvedEip;
    const { s4, s6 } = e.facts;
    const own = s4 !== '' || s6 !== '' ? resolvePair(gw, s4, s6) : null;
    const choices: ResolvedEip[] = [];
    if (own !== null && isResolved(own) && own.unit !== want.unit) choices.push(own);
    if (e.facts.allocator !== 'rr' && gw.defaultEip !== null && gw.defaultEip.unit !== want.unit)
      choices.push(gw.defaultEip);
    let chosen: ResolvedEip | undefined;
    for (const c of choices) {
      if (claims.rejoin(gw.name, c)) chosen = c;
      else if (!claims.conflicts(gw.name, c)) {
        claims.take(gw.name, c);
        chosen = c;
      }
      if (chosen !== undefined) break;
    }
    if (chosen !== undefined) {
      e.want = chosen;
      e.unit = chosen.unit;
      e.eip = chosen;
      if (s4 === chosen.ipv4 && s6 === chosen.ipv6) e.statusEip = chosen;
      continue;
    }
    if (e.facts.allocator === 'rr') {
      e.want = null;
      e.stage = 'none';
      roundRobin.push(e);
      continue;
    }
    problem(
      report,
      e,
      'EIPConflict',
      `EIP ${want.ipv4}|${want.ipv6} of gateway ${gw.name} shares an address with another EIP pair in use`,
    );
  }
}

/** Reports a problem of a policy. */
export function problem(report: ProblemSink, r: ResolvedPolicy, reason: string, message: string): void {
  report(policyProblem(r, reason, message), r);
}

/**
 * Gives each `rr` policy (in the order given) the first pool position whose addresses nobody uses, or
 * when every position is used, the pair of its gateway with the fewest policies (see
 * {@link reportSharedRoundRobin}). Positions holding a reserved address are never given.
 */
export function allocateRoundRobin(
  pending: readonly ResolvedPolicy[],
  claims: Claims,
  report: ProblemSink,
): void {
  // The smallest free position only grows as addresses get claimed, so one cursor per gateway finds
  // each free EIP in amortised constant time without expanding the pool.
  const cursor = new Map<string, bigint>();
  for (const e of pending) {
    const gw = e.model as GatewayModel;
    let c = cursor.get(gw.name) ?? 0n;
    let free: ResolvedEip | null = null;
    for (; c < gw.eipCount; c++) {
      const eip = usableAt(gw, c);
      if (eip !== null && claims.isFree(eip)) {
        free = eip;
        break;
      }
    }
    cursor.set(gw.name, c);
    let chosen: ResolvedEip | null = free;
    if (chosen === null) {
      // Every position is in use, so the pool is no larger than the number of policies: a scan is fine.
      let bestCount = Number.POSITIVE_INFINITY;
      for (let i = 0n; i < gw.eipCount; i++) {
        const eip = usableAt(gw, i);
        if (eip === null || claims.conflicts(gw.name, eip)) continue;
        const n = claims.users(gw.name, eip);
        if (n < bestCount) {
          chosen = eip;
          bestCount = n;
        }
      }
    }
    if (chosen === null) {
      problem(report, e, 'PoolExhausted', `gateway ${gw.name}: every EIP is held by another gateway or pair`);
      continue;
    }
    claims.take(gw.name, chosen);
    e.unit = chosen.unit;
    e.eip = chosen;
  }
}

/**
 * A `PoolShared` warning on every `rr` policy whose EIP other policies use too. Upstream refuses an
 * rr policy once its pool is used up; here it shares the least-used pair, and says so rather than
 * silently. Judged on the final claims, so the warning stays while the sharing lasts (also once
 * the shared EIP is written and kept: an rr policy keeps its pair while it exists, even after
 * addresses are added, so the message then says the pool has room and how to use it). The problem
 * names the gateway and the shared pair in `gateway` and `eip`.
 */
export function reportSharedRoundRobin(
  resolved: readonly ResolvedPolicy[],
  claims: Claims,
  report: ProblemSink,
): void {
  const roomy = new Map<string, boolean>();
  for (const e of resolved) {
    if (e.facts.allocator !== 'rr' || e.eip === null || e.model === null) continue;
    const gw = e.model;
    const others = claims.users(gw.name, e.eip) - 1;
    if (others <= 0) continue;
    let room = roomy.get(gw.name);
    if (room === undefined) {
      room = hasUnusedEip(gw, claims);
      roomy.set(gw.name, room);
    }
    const pair = [e.eip.ipv4, e.eip.ipv6].filter((a) => a !== '').join('/');
    const sharing = `${pair} with ${others} other ${others === 1 ? 'policy' : 'policies'}`;
    const message = room
      ? `this rr policy shares ${sharing} of gateway ${gw.name} because its pool was used up when it was placed; the pool has unused EIPs now, but an rr policy keeps its EIP while it exists: delete and re-create the policy to give it its own`
      : `gateway ${gw.name} has no unused EIP left for this rr policy: it shares ${sharing}; add addresses to the gateway's spec.ippools, then re-create the policy to give it its own`;
    report(
      {
        ...policyProblem(e, 'PoolShared', message),
        gateway: gw.name,
        eip: { ipv4: e.eip.ipv4, ipv6: e.eip.ipv6 },
      },
      e,
    );
  }
}

/**
 * Whether some usable pool position of `gw` has addresses nobody holds. Stops at the first free
 * one: before it lie only held or reserved positions, so the scan is bounded by the claims.
 */
function hasUnusedEip(gw: GatewayModel, claims: Claims): boolean {
  for (let i = 0n; i < gw.eipCount; i++) {
    const eip = usableAt(gw, i);
    if (eip !== null && claims.isFree(eip)) return true;
  }
  return false;
}
