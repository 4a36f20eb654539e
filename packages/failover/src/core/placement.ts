/** Addresses that must live on one member each, and the members allowed to hold them. */
export interface AddressGroup {
  /** Group id (for egress: the gateway name). */
  readonly id: string;
  /** Members that may hold this group's addresses (for egress: nodes selected by the gateway). */
  readonly candidates: readonly string[];
  /** Addresses in use that need a member (unused addresses are simply not listed). */
  readonly addresses: readonly string[];
}

/** Where an address was before this decision. */
export interface PreviousPlacement {
  readonly group: string;
  readonly address: string;
  readonly member: string;
}

/** Settings of {@link placeAddresses}. */
export interface PlacementOptions {
  /**
   * Off by default: addresses on healthy members never move, so a recovered member gets nothing
   * back. On: after failover, addresses also move from the most to the least loaded healthy
   * candidate while their loads differ by two or more (this moves addresses between healthy members).
   */
  readonly rebalance?: boolean | undefined;
  /**
   * Addresses members already hold in groups not passed in this call, counted when new placements
   * look for the least loaded candidate (and in the returned `load`). Lets a caller place only the
   * groups that changed: when every address of the other groups stays where it is and `rebalance` is
   * off, the decisions are those one call with all groups would make.
   */
  readonly heldElsewhere?: ReadonlyMap<string, number> | undefined;
  /**
   * Takeovers decided outside this function (by the members themselves, e.g. gateway peers) to
   * record: a claim moves its address from `from` to the claimant at once, whatever `from`'s health,
   * if and only if `from` is the address's previous member (else the claim is `stale`) and the
   * claimant is a healthy candidate of the group (else `ineligible`). A claimed address is never
   * rebalanced in the same call. Two acceptable claims on one address are both refused
   * (`contested`): one address never gets two members. See {@link ClaimVerdict}.
   */
  readonly claims?: readonly AddressClaim[] | undefined;
}

/** A member's claim that it took `address` of `group` over from `from` (see {@link PlacementOptions.claims}). */
export interface AddressClaim {
  readonly group: string;
  readonly address: string;
  /** The claimant. */
  readonly member: string;
  /** The member the claimant took the address from: must be the previous member for the claim to count. */
  readonly from: string;
}

/**
 * What {@link placeAddresses} made of a claim: `followed` (the address moved to the claimant),
 * `recorded` (the previous member already is the claimant: nothing to do), `stale` (the previous
 * member is not the claim's `from`), `ineligible` (the claimant is not a healthy candidate),
 * `contested` (another acceptable claim names the same address), `unknown` (no such group or
 * address in use).
 */
export type ClaimVerdict = 'followed' | 'recorded' | 'stale' | 'ineligible' | 'contested' | 'unknown';

/** What happened to one address. */
export type PlacementChange = 'kept' | 'assigned' | 'moved' | 'claimed' | 'rebalanced' | 'unassignable';

/** Decision for one address of one group. */
export interface PlacementDecision {
  readonly group: string;
  readonly address: string;
  /** The member that holds the address now, or `null` when no healthy candidate exists. */
  readonly member: string | null;
  /** The member from `previous`, or `null`. */
  readonly previous: string | null;
  readonly change: PlacementChange;
}

/** Result of {@link placeAddresses}. */
export interface PlacementResult {
  /** One decision per listed address, sorted by group then address. */
  readonly decisions: readonly PlacementDecision[];
  /**
   * Addresses held per healthy candidate of the given groups after the decision, including
   * `heldElsewhere` (members with none are listed with 0).
   */
  readonly load: ReadonlyMap<string, number>;
  /** One verdict per claim given in {@link PlacementOptions.claims}, in the order given. */
  readonly claims: ReadonlyArray<{ readonly claim: AddressClaim; readonly verdict: ClaimVerdict }>;
}

/** Minimal health view: `healthy` decides whether a member may hold addresses. */
export type HealthLookup = ReadonlyMap<string, { readonly healthy: boolean }>;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
type Nested<V> = Map<string, Map<string, V>>;

function inner<V>(map: Nested<V>, group: string): Map<string, V> {
  let m = map.get(group);
  if (m === undefined) {
    m = new Map();
    map.set(group, m);
  }
  return m;
}

/**
 * Places addresses onto healthy candidate members.
 *
 * Rules, in order: an address whose previous member is still a healthy candidate stays (stability);
 * every other address goes to the healthy candidate holding the fewest addresses over all groups at
 * that moment, ties broken by member id (balance, so a failed member's addresses spread out); an
 * address with no healthy candidate is `unassignable`. Before all of them, an acceptable claim
 * (`options.claims`: the previous member is the claim's `from`, the claimant a healthy candidate, no
 * other acceptable claim on the address) moves its address to the claimant (`claimed`). Groups and
 * addresses are processed in sorted order, so the result does not depend on input order.
 *
 * @example
 * ```ts
 * const health = new Map([['a', { healthy: false }], ['b', { healthy: true }], ['c', { healthy: true }]]);
 * const { decisions } = placeAddresses(
 *   [{ id: 'gw', candidates: ['a', 'b', 'c'], addresses: ['x', 'y'] }],
 *   health,
 *   [{ group: 'gw', address: 'x', member: 'a' }, { group: 'gw', address: 'y', member: 'a' }],
 * );
 * // x -> b, y -> c: the failed member's addresses are spread, not piled on one member.
 * ```
 */
export function placeAddresses(
  groups: readonly AddressGroup[],
  health: HealthLookup,
  previous: Iterable<PreviousPlacement>,
  options: PlacementOptions = {},
): PlacementResult {
  // Nested maps keyed by the caller's strings: no composite key is built per lookup.
  const prev: Nested<string> = new Map();
  for (const p of previous) {
    const m = inner(prev, p.group);
    const seen = m.get(p.address);
    // A corrupted status may list an address twice: keep the smallest member id, deterministically.
    if (seen === undefined || cmp(p.member, seen) < 0) m.set(p.address, p.member);
  }
  const isHealthy = (m: string) => health.get(m)?.healthy === true;
  // Usually already in id order (a stable sort would then keep the order as is).
  const sortedGroups = inIdOrder(groups) ? groups : [...groups].sort((a, b) => cmp(a.id, b.id));
  const load = new Map<string, number>();
  const healthyCandidates = new Map<string, readonly string[]>();
  for (const g of sortedGroups) {
    const hc = allOrHealthy(uniqueSorted(g.candidates), isHealthy);
    healthyCandidates.set(g.id, hc);
    for (const m of hc) load.set(m, options.heldElsewhere?.get(m) ?? 0);
  }
  const owner: Nested<string | null> = new Map();
  const addressesOf = new Map<string, readonly string[]>();
  for (const g of sortedGroups) addressesOf.set(g.id, uniqueSorted(g.addresses));
  const judged = judgeClaims(options.claims ?? [], addressesOf, healthyCandidates, prev);
  const claimed = judged.followed;
  // Pass 1: keep everything that may stay, so loads are known before anything new is placed.
  for (const g of sortedGroups) {
    const addresses = addressesOf.get(g.id) ?? [];
    const hc = healthyCandidates.get(g.id) ?? [];
    // Groups are usually small: a linear scan beats building a set per group.
    const candidates = hc.length > 16 ? new Set(hc) : null;
    const prevOfGroup = prev.get(g.id);
    const ownerOfGroup = inner(owner, g.id);
    const claimedOfGroup = claimed.get(g.id);
    for (const a of addresses) {
      const c = claimedOfGroup?.get(a);
      if (c !== undefined) {
        // A takeover the members already made: recorded as is, before anything else is placed.
        ownerOfGroup.set(a, c);
        load.set(c, (load.get(c) ?? 0) + 1);
        continue;
      }
      const p = prevOfGroup?.get(a);
      if (p !== undefined && (candidates === null ? hc.includes(p) : candidates.has(p))) {
        ownerOfGroup.set(a, p);
        load.set(p, (load.get(p) ?? 0) + 1);
      }
    }
  }
  // Pass 2: place the rest on the least-loaded healthy candidate.
  for (const g of sortedGroups) {
    const hc = healthyCandidates.get(g.id) ?? [];
    const ownerOfGroup = inner(owner, g.id);
    for (const a of addressesOf.get(g.id) ?? []) {
      if (ownerOfGroup.has(a)) continue;
      const best = leastLoaded(hc, load);
      ownerOfGroup.set(a, best);
      if (best !== null) load.set(best, (load.get(best) ?? 0) + 1);
    }
  }
  const rebalanced: Nested<true> = new Map();
  if (options.rebalance === true)
    rebalance(sortedGroups, healthyCandidates, addressesOf, owner, load, rebalanced, claimed);
  const decisions: PlacementDecision[] = [];
  for (const g of sortedGroups) {
    const ownerOfGroup = owner.get(g.id);
    const prevOfGroup = prev.get(g.id);
    const rebalancedOfGroup = rebalanced.get(g.id);
    for (const a of addressesOf.get(g.id) ?? []) {
      const member = ownerOfGroup?.get(a) ?? null;
      const previousMember = prevOfGroup?.get(a) ?? null;
      const change: PlacementChange =
        member === null
          ? 'unassignable'
          : member === previousMember
            ? 'kept'
            : claimed.get(g.id)?.get(a) === member
              ? 'claimed'
              : rebalancedOfGroup?.has(a) === true
                ? 'rebalanced'
                : previousMember === null
                  ? 'assigned'
                  : 'moved';
      decisions.push({ group: g.id, address: a, member, previous: previousMember, change });
    }
  }
  return { decisions, load, claims: judged.verdicts };
}

/** Each claim's verdict, and the claims to follow: group → address → claimant. */
function judgeClaims(
  claims: readonly AddressClaim[],
  addressesOf: ReadonlyMap<string, readonly string[]>,
  healthyCandidates: ReadonlyMap<string, readonly string[]>,
  prev: Nested<string>,
): { followed: Nested<string>; verdicts: Array<{ claim: AddressClaim; verdict: ClaimVerdict }> } {
  const verdicts: Array<{ claim: AddressClaim; verdict: ClaimVerdict }> = [];
  const acceptable: Nested<string[]> = new Map();
  for (const claim of claims) {
    let verdict: ClaimVerdict;
    const previous = prev.get(claim.group)?.get(claim.address);
    if (!(addressesOf.get(claim.group) ?? []).includes(claim.address)) verdict = 'unknown';
    else if (previous === claim.member) verdict = 'recorded';
    else if (previous !== claim.from) verdict = 'stale';
    else if (!(healthyCandidates.get(claim.group) ?? []).includes(claim.member)) verdict = 'ineligible';
    else {
      verdict = 'followed';
      const m = inner(acceptable, claim.group);
      const list = m.get(claim.address) ?? [];
      if (!list.includes(claim.member)) list.push(claim.member);
      m.set(claim.address, list);
    }
    verdicts.push({ claim, verdict });
  }
  const followed: Nested<string> = new Map();
  for (const [group, byAddress] of acceptable)
    for (const [address, members] of byAddress)
      if (members.length === 1) inner(followed, group).set(address, members[0] as string);
  for (const v of verdicts) {
    if (v.verdict !== 'followed') continue;
    if (followed.get(v.claim.group)?.get(v.claim.address) !== v.claim.member) v.verdict = 'contested';
  }
  return { followed, verdicts };
}

/** The items sorted and without duplicates; returns the input itself when it already is (the common case). */
function uniqueSorted(items: readonly string[]): readonly string[] {
  let sorted = true;
  for (let i = 1; i < items.length && sorted; i++) sorted = (items[i - 1] as string) < (items[i] as string);
  if (sorted) return items;
  if (items.length > 32) return [...new Set(items)].sort(cmp);
  // Short lists (a gateway's addresses, its candidates): an insertion sort that drops duplicates
  // allocates only the result, where a Set and Array.prototype.sort allocate scratch space per call.
  const out: string[] = [];
  for (const item of items) {
    let j = out.length - 1;
    while (j >= 0 && (out[j] as string) > item) j--;
    if (j >= 0 && out[j] === item) continue;
    out.push(item);
    for (let k = out.length - 1; k > j + 1; k--) out[k] = out[k - 1] as string;
    out[j + 1] = item;
  }
  return out;
}

function inIdOrder(groups: readonly AddressGroup[]): boolean {
  for (let i = 1; i < groups.length; i++)
    if (cmp((groups[i - 1] as AddressGroup).id, (groups[i] as AddressGroup).id) > 0) return false;
  return true;
}

/** The healthy members, or the list itself when all are (no copy per group per call). */
function allOrHealthy(members: readonly string[], isHealthy: (m: string) => boolean): readonly string[] {
  for (const m of members) if (!isHealthy(m)) return members.filter(isHealthy);
  return members;
}

function leastLoaded(candidates: readonly string[], load: ReadonlyMap<string, number>): string | null {
  let best: string | null = null;
  let bestLoad = Number.POSITIVE_INFINITY;
  // Candidates are sorted, so the first minimum is the smallest id among the least loaded.
  for (const m of candidates) {
    const l = load.get(m) ?? 0;
    if (l < bestLoad) {
      best = m;
      bestLoad = l;
    }
  }
  return best;
}

function rebalance(
  groups: readonly AddressGroup[],
  healthyCandidates: ReadonlyMap<string, readonly string[]>,
  addressesOf: ReadonlyMap<string, readonly string[]>,
  owner: Nested<string | null>,
  load: Map<string, number>,
  rebalanced: Nested<true>,
  pinned: Nested<string>,
): void {
  // Each move takes one address from a member with load L to one with load <= L - 2, which strictly
  // lowers the sum of squared loads, so the loop ends; it stops at a fixed point, which keeps the
  // engine idempotent.
  let moved = true;
  while (moved) {
    moved = false;
    for (const g of groups) {
      const hc = healthyCandidates.get(g.id) ?? [];
      if (hc.length < 2) continue;
      const target = leastLoaded(hc, load);
      if (target === null) continue;
      const ownerOfGroup = inner(owner, g.id);
      let donorAddress: string | null = null;
      let donorLoad = -1;
      for (const a of addressesOf.get(g.id) ?? []) {
        const m = ownerOfGroup.get(a);
        if (m === null || m === undefined || pinned.get(g.id)?.has(a) === true) continue;
        const l = load.get(m) ?? 0;
        if (l > donorLoad) {
          donorAddress = a;
          donorLoad = l;
        }
      }
      if (donorAddress === null || donorLoad < (load.get(target) ?? 0) + 2) continue;
      const from = ownerOfGroup.get(donorAddress) as string;
      ownerOfGroup.set(donorAddress, target);
      load.set(from, donorLoad - 1);
      load.set(target, (load.get(target) ?? 0) + 1);
      inner(rebalanced, g.id).set(donorAddress, true);
      moved = true;
    }
  }
}
