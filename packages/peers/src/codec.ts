import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Advert, Backing } from './types.js';

/** Wire format version written in the first byte of every advert. */
export const ADVERT_VERSION = 1;
/** Largest JSON body accepted or produced, in bytes: fits one IPv6 datagram of 1,280 bytes with headers. */
export const MAX_ADVERT_BODY_BYTES = 1_232;
/** Length of the HMAC-SHA256 tag at the end of every advert. */
export const ADVERT_TAG_BYTES = 32;
/** Default accepted difference between a message's `sentAtWall` and the receiver's wall clock. */
export const DEFAULT_REPLAY_WINDOW_MS = 5_000;

/**
 * A shared HMAC key. `id` (1-32 ASCII bytes) travels in clear so a receiver holding two keys (during a
 * rotation) knows which one to verify with; `secret` should be at least 32 random bytes.
 */
export interface AdvertKey {
  readonly id: string;
  readonly secret: Uint8Array;
}

/** Why a datagram was not acted on. Counted in a metric and logged with a rate limit by the caller. */
export type AdvertRejection =
  | 'too-short'
  | 'too-large'
  | 'bad-version'
  | 'unknown-key'
  | 'bad-tag'
  | 'malformed'
  | 'wrong-group'
  | 'unknown-node'
  | 'wrong-source'
  | 'stale-time'
  | 'old-epoch'
  | 'replayed-seq';

/** Result of {@link encodeAdvert}: a datagram, or why the advert cannot be sent. */
export type EncodeResult =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly reason: 'too-large' | 'unknown-key' };

/** Result of {@link decodeAdvert}: an authenticated advert (not yet checked for replay), or a rejection. */
export type DecodeResult =
  | { readonly ok: true; readonly advert: Advert; readonly keyId: string }
  | { readonly ok: false; readonly reason: AdvertRejection };

function tag(key: AdvertKey, data: Uint8Array): Buffer {
  return createHmac('sha256', key.secret).update(data).digest();
}

/**
 * Encodes and signs an advert with `key`: `[version u8][keyId length u8][keyId][body length u16 BE]
 * [compact JSON body][HMAC-SHA256 over everything before it]`. Refuses (as a value) a body over
 * {@link MAX_ADVERT_BODY_BYTES}, e.g. a gateway with too many EIPs for one datagram.
 */
export function encodeAdvert(advert: Advert, key: AdvertKey): EncodeResult {
  const keyId = Buffer.from(key.id, 'ascii');
  if (keyId.length === 0 || keyId.length > 32) return { ok: false, reason: 'unknown-key' };
  const body = Buffer.from(
    JSON.stringify([
      advert.group,
      advert.node,
      advert.epoch,
      advert.seq,
      advert.sentAtWall,
      advert.apiOk ? 1 : 0,
      advert.wants,
      advert.holds,
      Object.entries(advert.backing).map(([eip, b]) => [eip, b.holder, b.epoch, b.seq]),
      ...(advert.membersDigest === undefined ? [] : [advert.membersDigest]),
    ]),
    'utf8',
  );
  if (body.length > MAX_ADVERT_BODY_BYTES) return { ok: false, reason: 'too-large' };
  const head = Buffer.alloc(4 + keyId.length);
  head.writeUInt8(ADVERT_VERSION, 0);
  head.writeUInt8(keyId.length, 1);
  keyId.copy(head, 2);
  head.writeUInt16BE(body.length, 2 + keyId.length);
  const signed = Buffer.concat([head, body]);
  return { ok: true, bytes: Buffer.concat([signed, tag(key, signed)]) };
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function parseBody(text: string): Advert | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  // Nine fields; a tenth, the members digest, since 2026-12-06. Later fields are ignored, so that a
  // field added later does not make this version refuse the adverts of a newer one.
  if (!Array.isArray(v) || v.length < 9) return undefined;
  const [group, node, epoch, seq, sentAtWall, apiOk, wants, holds, backing, digest] = v as unknown[];
  if (digest !== undefined && typeof digest !== 'string') return undefined;
  if (typeof group !== 'string' || typeof node !== 'string' || node === '') return undefined;
  if (!isCount(epoch) || !isCount(seq) || !isCount(sentAtWall) || (apiOk !== 0 && apiOk !== 1))
    return undefined;
  if (!isStrings(wants) || !isStrings(holds) || !Array.isArray(backing)) return undefined;
  if (!holds.every((e) => wants.includes(e))) return undefined;
  // A Map, then own properties: an EIP named like an Object.prototype member ("constructor",
  // "__proto__") is data, never a prototype lookup or a prototype change.
  const b = new Map<string, Backing>();
  for (const entry of backing) {
    if (!Array.isArray(entry) || entry.length !== 4) return undefined;
    const [eip, holder, bepoch, bseq] = entry as unknown[];
    if (typeof eip !== 'string' || typeof holder !== 'string' || !isCount(bepoch) || !isCount(bseq))
      return undefined;
    if (b.has(eip)) return undefined;
    b.set(eip, { holder, epoch: bepoch, seq: bseq });
  }
  const backingObject = Object.fromEntries(b) as Record<string, Backing>;
  return {
    group,
    node,
    epoch,
    seq,
    sentAtWall,
    apiOk: apiOk === 1,
    wants,
    holds,
    backing: backingObject,
    ...(digest === undefined ? {} : { membersDigest: digest }),
  };
}

/**
 * Checks size, version and the HMAC tag against the key the datagram names (any of `keys`: keep the
 * old and the new key during a rotation), then parses the body. Never throws on bad input.
 */
export function decodeAdvert(bytes: Uint8Array, keys: readonly AdvertKey[]): DecodeResult {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4 + ADVERT_TAG_BYTES) return { ok: false, reason: 'too-short' };
  if (buf.length > 4 + 32 + MAX_ADVERT_BODY_BYTES + ADVERT_TAG_BYTES)
    return { ok: false, reason: 'too-large' };
  if (buf.readUInt8(0) !== ADVERT_VERSION) return { ok: false, reason: 'bad-version' };
  const idLen = buf.readUInt8(1);
  if (idLen === 0 || idLen > 32 || buf.length < 4 + idLen + ADVERT_TAG_BYTES)
    return { ok: false, reason: 'malformed' };
  const keyId = buf.subarray(2, 2 + idLen).toString('ascii');
  const bodyLen = buf.readUInt16BE(2 + idLen);
  if (bodyLen > MAX_ADVERT_BODY_BYTES) return { ok: false, reason: 'too-large' };
  if (buf.length !== 4 + idLen + bodyLen + ADVERT_TAG_BYTES) return { ok: false, reason: 'malformed' };
  const key = keys.find((k) => k.id === keyId);
  if (key === undefined) return { ok: false, reason: 'unknown-key' };
  const signedEnd = 4 + idLen + bodyLen;
  if (!timingSafeEqual(tag(key, buf.subarray(0, signedEnd)), buf.subarray(signedEnd))) {
    return { ok: false, reason: 'bad-tag' };
  }
  const advert = parseBody(buf.subarray(4 + idLen, signedEnd).toString('utf8'));
  return advert === undefined ? { ok: false, reason: 'malformed' } : { ok: true, advert, keyId };
}

/** Per sender: the newest epoch and seq accepted. Plain data, replaced (not mutated) by {@link admitAdvert}. */
export type ReplayState = ReadonlyMap<string, { readonly epoch: number; readonly seq: number }>;

/** What a receiver knows when it admits an authenticated advert. */
export interface AdmitContext {
  /** This agent's EgressGateway. */
  readonly group: string;
  /** Node name → the node address adverts of that node must come from (the group's members). */
  readonly memberAddresses: ReadonlyMap<string, string>;
  /** The UDP source address of the datagram. */
  readonly sourceAddress: string;
  /** The receiver's wall clock in ms. */
  readonly nowWall: number;
  /** Accepted |sentAtWall - nowWall|; {@link DEFAULT_REPLAY_WINDOW_MS} when absent. */
  readonly windowMs?: number;
}

/** Result of {@link admitAdvert}: the replay state to keep, or why the advert is refused. */
export type AdmitResult =
  | { readonly ok: true; readonly replay: ReplayState }
  | { readonly ok: false; readonly reason: AdvertRejection };

/**
 * Replay and origin checks after {@link decodeAdvert}: same group, a member node sending from its own
 * address, wall time within the window, and per sender a strictly newer (epoch, seq) than any
 * accepted before. Pure: returns the new replay state instead of changing `replay`.
 */
export function admitAdvert(replay: ReplayState, advert: Advert, ctx: AdmitContext): AdmitResult {
  if (advert.group !== ctx.group) return { ok: false, reason: 'wrong-group' };
  const address = ctx.memberAddresses.get(advert.node);
  if (address === undefined) return { ok: false, reason: 'unknown-node' };
  if (address !== ctx.sourceAddress) return { ok: false, reason: 'wrong-source' };
  if (Math.abs(advert.sentAtWall - ctx.nowWall) > (ctx.windowMs ?? DEFAULT_REPLAY_WINDOW_MS)) {
    return { ok: false, reason: 'stale-time' };
  }
  const last = replay.get(advert.node);
  if (last !== undefined) {
    if (advert.epoch < last.epoch) return { ok: false, reason: 'old-epoch' };
    if (advert.epoch === last.epoch && advert.seq <= last.seq) return { ok: false, reason: 'replayed-seq' };
  }
  const next = new Map(replay);
  next.set(advert.node, { epoch: advert.epoch, seq: advert.seq });
  return { ok: true, replay: next };
}
