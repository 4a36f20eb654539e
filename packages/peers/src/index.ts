/**
 * `@egressgateway/peers`: the gateway peer protocol core (docs/peers.md). Agents of one EgressGateway
 * exchange authenticated adverts, back one holder per EIP, hold an EIP only on a majority lease, keep
 * it through an API outage everyone sees (the outage certificate), and hand a silent holder's EIP to
 * the designated successor within D. {@link step} is pure (time is an argument); {@link encodeAdvert}
 * / {@link decodeAdvert} / {@link admitAdvert} authenticate the messages with node:crypto alone.
 *
 * @packageDocumentation
 */

export {
  ADVERT_TAG_BYTES,
  ADVERT_VERSION,
  type AdmitContext,
  type AdmitResult,
  type AdvertKey,
  type AdvertRejection,
  admitAdvert,
  DEFAULT_REPLAY_WINDOW_MS,
  type DecodeResult,
  decodeAdvert,
  type EncodeResult,
  encodeAdvert,
  MAX_ADVERT_BODY_BYTES,
  type ReplayState,
} from './codec.js';
export {
  changesMembersInPlace,
  type EipState,
  initialPeerState,
  type PeerAction,
  type PeerConfig,
  type PeerInput,
  type PeerRecord,
  type PeerState,
  type StepResult,
  step,
} from './core.js';
export {
  DEFAULT_PEER_TIMING,
  maxToleratedRateError,
  PeerConfigError,
  type PeerTiming,
  validatePeerTiming,
} from './timing.js';
export { type Advert, type Backing, membersDigest } from './types.js';
export {
  canonicalAddress,
  type PeerLogger,
  PeerTransport,
  type PeerTransportOptions,
  type TransportRejection,
} from './udp.js';
