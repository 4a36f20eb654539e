/** The newest advert seq of the holder a node backs for one EIP (see docs/peers.md, "Backing"). */
export interface Backing {
  /** Node name of the holder this node backs. */
  readonly holder: string;
  /** The holder's epoch the seq belongs to (a restarted holder numbers its adverts anew). */
  readonly epoch: number;
  /** The newest advert seq of that holder this node had received when it sent this advert. */
  readonly seq: number;
}

/**
 * One peer message. Every agent of an EgressGateway sends one every `advertPeriodMs` and at once when
 * its wants, holds, backing or API state changes. Plain data; {@link encodeAdvert} authenticates it.
 */
export interface Advert {
  /** The EgressGateway the sender serves (a message for another group is refused). */
  readonly group: string;
  /** Node name of the sender. */
  readonly node: string;
  /**
   * Start identity of the sender: its wall-clock time in ms when it started (so a restart has a higher
   * epoch than any message of the previous run, and replays of an older run are refused).
   */
  readonly epoch: number;
  /** Increases by one with every advert of an epoch. */
  readonly seq: number;
  /** Sender's wall clock at sending, in ms; used only for the replay window. */
  readonly sentAtWall: number;
  /** The sender had an API heartbeat acknowledged within `apiOkWindowMs` when it sent this. */
  readonly apiOk: boolean;
  /** EIPs the sender claims (it holds them or wants a majority to back it for them). */
  readonly wants: readonly string[];
  /** EIPs the sender answers for right now (a subset of `wants`). */
  readonly holds: readonly string[];
  /** Per EIP: the holder the sender backs and that holder's newest seq it has seen. */
  readonly backing: Readonly<Record<string, Backing>>;
  /**
   * {@link membersDigest} of the members the sender counts with. A receiver takes the sender's "no
   * API" acknowledgements as part of an outage certificate only when it is its own list's: a
   * certificate says no member of the list reaches the API server, which says nothing of a member
   * the holder has not read joining. Absent (an agent from before it): never certifies.
   */
  readonly membersDigest?: string;
}

/**
 * A short digest of a member list, the same for every order of the same names (sorted, joined by
 * newlines, 32-bit FNV-1a twice with different offsets, as 16 hex digits). Not a security measure:
 * adverts are authenticated; it only tells two honest members whether they count with one list.
 */
export function membersDigest(members: readonly string[]): string {
  const text = [...members].sort().join('\n');
  const fnv = (offset: number): string => {
    let h = offset >>> 0;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h.toString(16).padStart(8, '0');
  };
  return fnv(0x811c9dc5) + fnv(0x050c5d1f);
}
