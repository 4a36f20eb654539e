import { type KubeClient, type Logger, sleep, systemClock } from '@egressgateway/kube';
import {
  DEFAULT_PEER_TIMING,
  PeerConfigError,
  type PeerTiming,
  PeerTransport,
  validatePeerTiming,
} from '@egressgateway/peers';
import type { AgentPeerOptions } from './agent-peers.js';
import { PeerKeyWatcher } from './peer-keys.js';
import type { AgentCliSettings } from './settings.js';

type PeerSettings = Pick<
  AgentCliSettings,
  | 'peerAdvertPeriodMs'
  | 'peerDeadIntervalMs'
  | 'peerLeaseMs'
  | 'peerRejoinDelayMs'
  | 'eipEvictionTimeoutMs'
  | 'fenceMarginMs'
  | 'tunnelUpdatePeriodMs'
>;

/** The agent setting behind each field of {@link PeerTiming} (config key, flag, unit). */
const SETTING_OF: Record<string, string> = {
  advertPeriodMs: 'peerAdvertPeriod (--peer-advert-period, seconds)',
  deadIntervalMs: 'peerDeadInterval (--peer-dead-interval, seconds)',
  leaseMs: 'peerLease (--peer-lease, seconds)',
  rejoinDelayMs: 'peerRejoinDelay (--peer-rejoin-delay, seconds)',
  evictionTimeoutMs: 'eipEvictionTimeout (--eip-eviction-timeout, seconds)',
  fenceMarginMs: 'fenceMargin (--fence-margin, seconds)',
};

/**
 * How long after sending its last acknowledged heartbeat an agent still advertises `apiOk`: the
 * update period plus 1 s for the acknowledgement, but short enough that the peers of a holder
 * report the outage (and so give it the outage certificate) before the holder's own API fence
 * `S + E - M` ends, one period of theirs and two adverts later: at most `E - M - U - 2P`.
 */
export function apiOkWindowMs(
  s: Pick<
    AgentCliSettings,
    'tunnelUpdatePeriodMs' | 'eipEvictionTimeoutMs' | 'fenceMarginMs' | 'peerAdvertPeriodMs'
  >,
): number {
  const U = s.tunnelUpdatePeriodMs;
  const fence = s.eipEvictionTimeoutMs - s.fenceMarginMs;
  return Math.max(U, Math.min(U + 1_000, fence - U - 2 * s.peerAdvertPeriodMs));
}

/** Thrown at start for gateway peer settings the protocol cannot run safely with. */
export class PeerSettingsError extends Error {
  /** Stable code. */
  readonly code = 'EGW_INVALID_PEER_SETTINGS' as const;
  override readonly name = 'PeerSettingsError';
  /** The agent setting (config key) to change. */
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(message);
    this.setting = setting;
  }
}

/**
 * The peer timing of the agent's settings, checked with `validatePeerTiming`: P, D, L and J (the
 * rejoin delay; 0 leaves it out) from the `peer*` settings, w and ρ the protocol's defaults (20 ms,
 * 1 %), E and M the agent's own eviction timeout and fence margin, and `apiOk` for
 * {@link apiOkWindowMs} after an acknowledged heartbeat's send time. Throws
 * {@link PeerSettingsError} naming the setting and the fix.
 */
export function peerTiming(s: PeerSettings): PeerTiming {
  const timing: PeerTiming = {
    ...DEFAULT_PEER_TIMING,
    advertPeriodMs: s.peerAdvertPeriodMs,
    deadIntervalMs: s.peerDeadIntervalMs,
    leaseMs: s.peerLeaseMs,
    evictionTimeoutMs: s.eipEvictionTimeoutMs,
    fenceMarginMs: s.fenceMarginMs,
    apiOkWindowMs: apiOkWindowMs(s),
    ...(s.peerRejoinDelayMs > 0 ? { rejoinDelayMs: s.peerRejoinDelayMs } : {}),
  };
  try {
    validatePeerTiming(timing);
  } catch (err) {
    if (!(err instanceof PeerConfigError)) throw err;
    const setting = SETTING_OF[err.field] ?? err.field;
    throw new PeerSettingsError(
      setting.split(' ')[0] as string,
      `invalid gateway peer timing, change ${setting} (the numbers below are ms): ${err.message}; or turn peers off with --peers=false`,
    );
  }
  return timing;
}

/** What {@link setupPeers} needs. */
export interface PeerSetupOptions {
  settings: PeerSettings &
    Pick<
      AgentCliSettings,
      'nodeName' | 'peerPort' | 'peerFallbackAfterMs' | 'peerKeySecret' | 'peerKeyNamespace'
    >;
  /** The node's underlay addresses: adverts are sent from and received on them. */
  parent: { ipv4?: string | undefined; ipv6?: string | undefined };
  client: KubeClient;
  log: Logger;
  /** The keys changed: the agent should look at its gateways again. */
  onKeysChanged(): void;
  /** How long to wait for the key Secret's first list before starting without a key (default 5 s). */
  keyWaitMs?: number;
}

/** The agent's peer options and the key watcher behind them. */
export interface PeerSetup {
  readonly options: AgentPeerOptions;
  /** Stops the key watcher (the agent closes the transport itself). */
  stop(): Promise<void>;
}

/**
 * Checks the peer settings, starts watching the key Secret (waiting at most `keyWaitMs` for its
 * first list, so a missing RBAC rule delays nothing), and returns the agent's peer options with a
 * UDP {@link PeerTransport} on the node's addresses. Returns `undefined` (and says why) when the node
 * has no underlay address to bind.
 */
export async function setupPeers(o: PeerSetupOptions): Promise<PeerSetup | undefined> {
  const s = o.settings;
  const timing = peerTiming(s);
  const log = o.log.child({ component: 'peers' });
  if (!o.parent.ipv4 && !o.parent.ipv6) {
    log.warn({}, 'gateway peers off: the egress interface has no address to send adverts from');
    return undefined;
  }
  const watcher = new PeerKeyWatcher({
    client: o.client,
    namespace: s.peerKeyNamespace,
    name: s.peerKeySecret,
    log,
    onChange: () => o.onKeysChanged(),
  });
  const wait = new AbortController();
  await Promise.race([
    watcher.start(),
    sleep(systemClock, o.keyWaitMs ?? 5_000, wait.signal)
      .then(() =>
        log.warn(
          { secret: `${s.peerKeyNamespace}/${s.peerKeySecret}`, waitedMs: o.keyWaitMs ?? 5_000 },
          'peer key secret not listed yet (RBAC?), starting without a key',
        ),
      )
      .catch(() => undefined), // aborted: the Secret was listed first
  ]).finally(() => wait.abort());
  return {
    options: {
      timing,
      fallbackAfterMs: s.peerFallbackAfterMs,
      keys: () => watcher.keys(),
      link: (hooks) =>
        new PeerTransport({
          node: s.nodeName,
          port: s.peerPort,
          bind: { ipv4: o.parent.ipv4 || undefined, ipv6: o.parent.ipv6 || undefined },
          keys: () => watcher.keys(),
          members: hooks.members,
          onAdvert: hooks.onAdvert,
          onReject: hooks.onReject,
          log,
        }),
    },
    stop: () => watcher.stop(),
  };
}
