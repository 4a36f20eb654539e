import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import {
  type AdvertKey,
  type AdvertRejection,
  admitAdvert,
  DEFAULT_REPLAY_WINDOW_MS,
  decodeAdvert,
  encodeAdvert,
  type ReplayState,
} from './codec.js';
import type { Advert } from './types.js';

/** The pino-compatible subset of a logger the transport writes to. */
export interface PeerLogger {
  warn(fields: object, message: string): void;
}

/** Why a datagram was not acted on, or why one could not be sent. */
export type TransportRejection = AdvertRejection | 'send-failed';

/** What {@link PeerTransport} needs. */
export interface PeerTransportOptions {
  /** This agent's node name (never sent to). */
  readonly node: string;
  /** UDP port every member listens on (the same on every node). */
  readonly port: number;
  /**
   * Local addresses to bind: `ipv4` opens a udp4 socket, `ipv6` a udp6 socket (IPv6 only). Bind the
   * node's own address so that adverts leave with it as source (receivers check it). At least one.
   */
  readonly bind: { readonly ipv4?: string | undefined; readonly ipv6?: string | undefined };
  /** The keys now: the first signs, all verify (keep old and new during a rotation). */
  keys(): readonly AdvertKey[];
  /**
   * For a group (EgressGateway) this agent serves: node name → the node address that member's
   * adverts come from and are sent to. `undefined` for any other group (its adverts are refused as
   * `wrong-group`). One agent may serve several groups over one port; sequence numbers are checked
   * per group and sender.
   */
  members(group: string): ReadonlyMap<string, string> | undefined;
  /** An advert that passed the tag, group, member, source, time-window and sequence checks. */
  onAdvert(advert: Advert, keyId: string): void;
  /** Every refusal (counted by the caller in a metric); never acted on. */
  onReject?(reason: TransportRejection): void;
  /** Rate-limited refusal logs (at most one line per reason per `logEveryMs`). */
  readonly log?: PeerLogger | undefined;
  /** Monotonic ms for the log rate limit (default `performance.now`). */
  now?(): number;
  /** Wall-clock ms for the replay window (default `Date.now`). */
  wallNow?(): number;
  /** Accepted |sentAtWall - wall clock| (default {@link DEFAULT_REPLAY_WINDOW_MS}). */
  readonly replayWindowMs?: number;
  /** At most one log line per refusal reason this often (default 5,000 ms). */
  readonly logEveryMs?: number;
}

/**
 * Canonical text of an IP address so that a configured `fd00:0::1` and the kernel's `fd00::1` match.
 * IPv4 (and an IPv4-mapped IPv6 address) become dotted quads; anything unparsable is returned as is.
 */
export function canonicalAddress(address: string): string {
  if (!isIPv6(address)) return address;
  try {
    const host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (mapped) {
      const hi = Number.parseInt(mapped[1] as string, 16);
      const lo = Number.parseInt(mapped[2] as string, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
    return host;
  } catch {
    return address;
  }
}

/**
 * The UDP shell of the peer protocol: sends authenticated adverts to every member's node address
 * and admits received datagrams only through {@link decodeAdvert} and {@link admitAdvert} (tag,
 * group, member, the UDP source equal to the sender node's address, replay window, strictly newer
 * epoch/seq). Refusals are reported to `onReject` and logged at most once per reason per
 * `logEveryMs`; nothing refused reaches `onAdvert`. The transport knows nothing about the protocol
 * state: the agent's driver feeds `onAdvert` to `step()` and hands `send-advert` actions to {@link send}.
 *
 * @example
 * ```ts
 * const t = new PeerTransport({
 *   node: 'node1', port: 7790, bind: { ipv4: '198.18.0.1' },
 *   keys: () => [{ id: 'k1', secret }],
 *   members: (group) =>
 *     group === 'egw1' ? new Map([['node1', '198.18.0.1'], ['node2', '198.18.0.2']]) : undefined,
 *   onAdvert: (advert) => console.log('heard', advert.node, advert.seq),
 * });
 * await t.start();
 * t.send(advert); // an advert of egw1: to node2
 * await t.close();
 * ```
 */
export class PeerTransport {
  private readonly sockets: Array<{ type: 'udp4' | 'udp6'; socket: Socket }> = [];
  private readonly replay = new Map<string, ReplayState>();
  private readonly rejected = new Map<TransportRejection, number>();
  private readonly lastLog = new Map<TransportRejection, { at: number; suppressed: number }>();
  private closed = false;

  constructor(private readonly o: PeerTransportOptions) {
    if (o.bind.ipv4 === undefined && o.bind.ipv6 === undefined) {
      throw new Error('bind: give an ipv4 or an ipv6 address (or both) to listen on');
    }
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65_535) {
      throw new Error(`port: ${o.port} is not a UDP port; use 1-65535`);
    }
  }

  /** Refusals so far by reason (also reported one by one to `onReject`). */
  get rejections(): ReadonlyMap<TransportRejection, number> {
    return this.rejected;
  }

  /** Binds the sockets; rejects (naming the address and port) when one cannot be bound. */
  async start(): Promise<void> {
    const { bind, port } = this.o;
    const open = (type: 'udp4' | 'udp6', address: string) =>
      new Promise<Socket>((resolve, reject) => {
        const s = createSocket({ type, ...(type === 'udp6' ? { ipv6Only: true } : {}) });
        const fail = (err: Error) => {
          s.close();
          reject(new Error(`peer port: cannot bind ${address} port ${port}: ${err.message}`));
        };
        s.once('error', fail);
        s.on('message', (msg, rinfo) => this.receive(msg, rinfo));
        s.bind({ port, address, exclusive: true }, () => {
          s.off('error', fail);
          s.on('error', (err) => this.refuse('send-failed', { err: err.message }, true));
          resolve(s);
        });
      });
    if (bind.ipv4 !== undefined) this.sockets.push({ type: 'udp4', socket: await open('udp4', bind.ipv4) });
    if (bind.ipv6 !== undefined) this.sockets.push({ type: 'udp6', socket: await open('udp6', bind.ipv6) });
  }

  /**
   * Signs `advert` with the first key and sends it to every other member (over the socket of the
   * member address's family). Returns the number of datagrams handed to the kernel; a failure
   * (too large, no key, no socket of that family) is refused as `send-failed` or `too-large`.
   */
  send(advert: Advert): number {
    if (this.closed) return 0;
    const key = this.o.keys()[0];
    if (key === undefined) {
      this.refuse('unknown-key', { err: 'no key to sign with' }, true);
      return 0;
    }
    const encoded = encodeAdvert(advert, key);
    if (!encoded.ok) {
      this.refuse(encoded.reason, {}, true);
      return 0;
    }
    let sent = 0;
    for (const [node, address] of this.o.members(advert.group) ?? []) {
      if (node === this.o.node) continue;
      const socket = this.socketFor(address);
      if (socket === undefined) {
        this.refuse('send-failed', { to: node, address, err: 'no socket of that address family' }, true);
        continue;
      }
      socket.send(encoded.bytes, this.o.port, address, (err) => {
        if (err) this.refuse('send-failed', { to: node, address, err: err.message }, true);
      });
      sent += 1;
    }
    return sent;
  }

  /** Closes the sockets; nothing is sent or received afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.sockets.map(({ socket }) => new Promise<void>((r) => socket.close(() => r()))));
  }

  private socketFor(address: string): Socket | undefined {
    const type = isIPv6(address) ? 'udp6' : 'udp4';
    return this.sockets.find((s) => s.type === type)?.socket;
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    const source = canonicalAddress(rinfo.address);
    const decoded = decodeAdvert(msg, this.o.keys());
    if (!decoded.ok) {
      this.refuse(decoded.reason, { source });
      return;
    }
    const { group } = decoded.advert;
    const members = this.o.members(group);
    const memberAddresses = new Map<string, string>();
    for (const [node, address] of members ?? []) memberAddresses.set(node, canonicalAddress(address));
    const admitted = admitAdvert(this.replay.get(group) ?? new Map(), decoded.advert, {
      // An unknown group is refused by admitAdvert as wrong-group.
      group: members === undefined ? '' : group,
      memberAddresses,
      sourceAddress: source,
      nowWall: (this.o.wallNow ?? Date.now)(),
      windowMs: this.o.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS,
    });
    if (!admitted.ok) {
      this.refuse(admitted.reason, { source, node: decoded.advert.node, seq: decoded.advert.seq });
      return;
    }
    this.replay.set(group, admitted.replay);
    this.o.onAdvert(decoded.advert, decoded.keyId);
  }

  private refuse(reason: TransportRejection, fields: object, sending = false): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
    this.o.onReject?.(reason);
    const log = this.o.log;
    if (log === undefined) return;
    const now = (this.o.now ?? (() => performance.now()))();
    const every = this.o.logEveryMs ?? 5_000;
    const last = this.lastLog.get(reason);
    if (last !== undefined && now - last.at < every) {
      last.suppressed += 1;
      return;
    }
    this.lastLog.set(reason, { at: now, suppressed: 0 });
    log.warn(
      { reason, ...fields, suppressed: last?.suppressed ?? 0 },
      sending ? 'peer advert not sent' : 'peer advert refused',
    );
  }
}
