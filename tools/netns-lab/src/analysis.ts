/**
 * Pure analysis of what the lab recorded on the wire: probe arrivals at the external server and
 * ARP/ND answers for the EIP. No I/O; times are milliseconds since the epoch.
 */

/** Kinds of probe arrivals at the server. */
export type ProbeKind = 'u4' | 'u6' | 'c4' | 's4';

/** One probe as the server saw it. */
export interface Arrival {
  t: number;
  k: ProbeKind;
  /** Source address seen by the server. */
  s: string;
  /** Source port. */
  p: number;
  /** Sequence number (UDP and stream lines). */
  q?: number;
}

/** One ARP/ND packet that claims the EIP, as the watcher saw it. */
export interface ArpRecord {
  t: number;
  kind: 'reply' | 'garp' | 'na';
  /** Watcher round: one ARP request is broadcast per round. */
  round: number;
  mac: string;
}

/** A silence between two consecutive arrivals. */
export interface Gap {
  /** Last arrival before the silence. */
  from: number;
  /** First arrival after it (or the end of the window when traffic never resumed). */
  to: number;
  ms: number;
  /** True when no arrival came after the silence before the window ended. */
  open?: boolean;
}

/** Arrivals of one kind (optionally from one source), in time order. */
export function arrivalsOf(all: readonly Arrival[], kind: ProbeKind, source?: string): Arrival[] {
  return all
    .filter((a) => a.k === kind && (source === undefined || a.s === source))
    .sort((a, b) => a.t - b.t);
}

/**
 * The longest silence of a probe stream that ends after `since` (and starts before `until`):
 * the data-plane interruption caused by something that happened at `since`, measured on the wire.
 * Counts only arrivals from `source` when given (a packet leaving with the wrong source address is
 * not service). With a finite `until`, a silence that lasts to `until` counts (marked `open`).
 * Returns undefined when there are fewer than two arrivals and no open silence.
 */
export function longestGap(
  all: readonly Arrival[],
  kind: ProbeKind,
  since: number,
  until = Number.POSITIVE_INFINITY,
  source?: string,
): Gap | undefined {
  const xs = arrivalsOf(all, kind, source);
  let best: Gap | undefined;
  for (let i = 1; i < xs.length; i++) {
    const a = xs[i - 1] as Arrival;
    const b = xs[i] as Arrival;
    if (b.t <= since || a.t >= until) continue;
    const gap = { from: a.t, to: b.t, ms: b.t - a.t };
    if (!best || gap.ms > best.ms) best = gap;
  }
  // Traffic that never came back is the longest silence of all, up to the end of the window.
  const last = xs.at(-1);
  if (last && Number.isFinite(until) && last.t < until && (!best || until - last.t > best.ms))
    best = { from: last.t, to: until, ms: until - last.t, open: true };
  return best;
}

/** Distinct source addresses of a probe kind within [from, to). */
export function sourcesBetween(all: readonly Arrival[], kind: ProbeKind, from: number, to: number): string[] {
  const s = new Set<string>();
  for (const a of all) if (a.k === kind && a.t >= from && a.t < to) s.add(a.s);
  return [...s].sort();
}

/** Distinct (source, port) connections of the TCP stream probe within [from, to). */
export function streamConnections(all: readonly Arrival[], from: number, to: number): string[] {
  const s = new Set<string>();
  for (const a of all) if (a.k === 's4' && a.t >= from && a.t < to) s.add(`${a.s}:${a.p}`);
  return [...s].sort();
}

/** A round of the ARP watcher in which more than one MAC answered for the EIP. */
export interface DuplicateWindow {
  round: number;
  t: number;
  macs: string[];
}

/**
 * Rounds in which two or more different MACs answered the watcher's ARP request for the EIP: at
 * that moment two hosts owned the address. (Gratuitous ARPs and neighbour advertisements are
 * announcements, not answers, and are not counted here.)
 */
export function duplicateWindows(records: readonly ArpRecord[]): DuplicateWindow[] {
  const byRound = new Map<number, { t: number; macs: Set<string> }>();
  for (const r of records) {
    if (r.kind !== 'reply') continue;
    const e = byRound.get(r.round) ?? { t: r.t, macs: new Set<string>() };
    e.macs.add(r.mac);
    e.t = Math.min(e.t, r.t);
    byRound.set(r.round, e);
  }
  return [...byRound.entries()]
    .filter(([, e]) => e.macs.size > 1)
    .map(([round, e]) => ({ round, t: e.t, macs: [...e.macs].sort() }))
    .sort((a, b) => a.round - b.round);
}

/** When the answering MAC changed: one entry per new owner (and `none` after silence). */
export interface OwnerChange {
  t: number;
  mac: string;
}

/**
 * The owner of the EIP over time as seen on the LAN: the MAC answering the watcher, with `none`
 * when no answer came for `silentRounds` consecutive rounds.
 */
export function ownerChanges(records: readonly ArpRecord[], silentRounds = 5): OwnerChange[] {
  const replies = records.filter((r) => r.kind === 'reply').sort((a, b) => a.round - b.round || a.t - b.t);
  const out: OwnerChange[] = [];
  let current: string | undefined;
  let lastRound = Number.NaN;
  let lastT = 0;
  for (const r of replies) {
    if (current !== undefined && current !== 'none' && r.round - lastRound > silentRounds) {
      out.push({ t: lastT, mac: 'none' });
      current = 'none';
    }
    if (r.mac !== current) {
      out.push({ t: r.t, mac: r.mac });
      current = r.mac;
    }
    lastRound = r.round;
    lastT = r.t;
  }
  return out;
}

/** How long nobody answered ARP for the EIP around an ownership change. */
export interface OwnershipGap {
  /** Last answer from the old owner. */
  lastOld: number;
  /** First answer from another MAC. */
  firstNew: number;
  /** firstNew - lastOld (negative when the two overlapped). */
  ms: number;
  oldMac: string;
  newMac: string;
}

/**
 * The ownership handover on the LAN after `since`: the last ARP answer from the MAC that owned
 * the EIP at `since`, and the first answer from another MAC. Undefined when nobody else answered.
 */
export function ownershipGap(records: readonly ArpRecord[], since: number): OwnershipGap | undefined {
  const replies = records.filter((r) => r.kind === 'reply').sort((a, b) => a.t - b.t);
  const before = replies.filter((r) => r.t <= since).at(-1);
  if (!before) return undefined;
  const firstNew = replies.find((r) => r.t > since && r.mac !== before.mac);
  if (!firstNew) return undefined;
  const lastOld = replies.filter((r) => r.mac === before.mac && r.t <= firstNew.t + 1000).at(-1) ?? before;
  return {
    lastOld: lastOld.t,
    firstNew: firstNew.t,
    ms: firstNew.t - lastOld.t,
    oldMac: before.mac,
    newMac: firstNew.mac,
  };
}

/**
 * The longest time within [since, until] in which no MAC answered the watcher's ARP requests for
 * the EIP (replies only: a gratuitous ARP is an announcement, not an answer). A silence that
 * reaches `until` counts up to it (marked `open`). This is what routers and the external server
 * see when they re-resolve the EIP: while it lasts, the egress traffic of every pod stops.
 */
export function longestArpSilence(records: readonly ArpRecord[], since: number, until: number): Gap {
  const ts = records
    .filter((r) => r.kind === 'reply' && r.t >= since && r.t <= until)
    .map((r) => r.t)
    .sort((a, b) => a - b);
  let best: Gap = { from: since, to: ts[0] ?? until, ms: (ts[0] ?? until) - since, open: ts.length === 0 };
  for (let i = 1; i < ts.length; i++) {
    const a = ts[i - 1] as number;
    const b = ts[i] as number;
    if (b - a > best.ms) best = { from: a, to: b, ms: b - a };
  }
  const last = ts.at(-1);
  if (last !== undefined && until - last > best.ms)
    best = { from: last, to: until, ms: until - last, open: true };
  return best;
}

/** Percentile (nearest rank) of a list of numbers; undefined for an empty list. */
export function percentile(xs: readonly number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** Parses one line of the ARP watcher (`reply 12 02:00:00:00:00:11`), stamped with `t`. */
export function parseArpLine(line: string, t: number): ArpRecord | undefined {
  const m = /^(reply|garp|na) (\d+) ([0-9a-f:]{17})$/.exec(line.trim());
  if (!m) return undefined;
  return { t, kind: m[1] as ArpRecord['kind'], round: Number(m[2]), mac: m[3] as string };
}

/** Parses one line of the probe server; undefined for other records. */
export function parseArrival(line: string): Arrival | undefined {
  try {
    const o = JSON.parse(line) as Partial<Arrival> & { k?: string };
    if (typeof o.t !== 'number' || typeof o.s !== 'string' || typeof o.p !== 'number') return undefined;
    if (o.k !== 'u4' && o.k !== 'u6' && o.k !== 'c4' && o.k !== 's4') return undefined;
    return { t: o.t, k: o.k, s: o.s, p: o.p, ...(typeof o.q === 'number' ? { q: o.q } : {}) };
  } catch {
    return undefined;
  }
}
