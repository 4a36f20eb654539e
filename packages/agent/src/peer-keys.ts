import {
  type Clock,
  Informer,
  type KubeClient,
  type KubeObject,
  type Logger,
  SECRETS,
  toKubeApiError,
} from '@egressgateway/kube';
import type { AdvertKey } from '@egressgateway/peers';

/** Shortest accepted key: HMAC-SHA256 wants at least 32 random bytes. */
export const MIN_PEER_KEY_BYTES = 32;
/** The data item of the Secret that names the key to sign with. */
export const ACTIVE_KEY_ITEM = 'active';

/** Result of {@link parsePeerKeys}: the keys, signing key first, and why any item was refused. */
export interface ParsedPeerKeys {
  /** At most two keys: the one to sign with first, then the newest other one (a rotation). */
  readonly keys: readonly AdvertKey[];
  /** One line per refused item, naming it and the fix (logged by the watcher). */
  readonly problems: readonly string[];
}

/**
 * Reads the peer keys from a Secret's `data` (base64 values, as the API returns them). Every item
 * other than `active` is a key whose id is the item name (1-32 characters); its value must be at
 * least {@link MIN_PEER_KEY_BYTES} bytes. `active` names the key to sign with; without it the last
 * id in sort order signs. All keys verify, but only two are kept (the signing one and the last
 * other), which is what a rotation needs:
 *
 * 1. add the new key (`k2`) with `active: k1`: every agent accepts both and signs with k1;
 * 2. set `active: k2`: agents sign with k2, and the others still accept it;
 * 3. remove k1.
 *
 * @example
 * ```ts
 * parsePeerKeys({ k1: Buffer.alloc(32, 7).toString('base64') }).keys; // [{ id: 'k1', secret: <32 bytes> }]
 * ```
 */
export function parsePeerKeys(data: Readonly<Record<string, string>> | undefined): ParsedPeerKeys {
  const problems: string[] = [];
  const found = new Map<string, Uint8Array>();
  for (const [item, value] of Object.entries(data ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (item === ACTIVE_KEY_ITEM) continue;
    const secret = Buffer.from(value, 'base64');
    if (item.length > 32 || !/^[\x21-\x7e]+$/.test(item)) {
      problems.push(`data.${item}: a key id must be 1-32 printable ASCII characters; rename the item`);
    } else if (secret.length < MIN_PEER_KEY_BYTES) {
      problems.push(
        `data.${item}: ${secret.length} bytes is too short for a key; use at least ${MIN_PEER_KEY_BYTES} random bytes (openssl rand 32)`,
      );
    } else found.set(item, new Uint8Array(secret));
  }
  const ids = [...found.keys()];
  const activeRaw = data?.[ACTIVE_KEY_ITEM];
  let active = ids.at(-1);
  if (activeRaw !== undefined) {
    const named = Buffer.from(activeRaw, 'base64').toString('utf8').trim();
    if (found.has(named)) active = named;
    else
      problems.push(
        `data.${ACTIVE_KEY_ITEM}: names ${JSON.stringify(named)}, which is no valid key item; name one of ${ids.join(', ') || '(none)'}`,
      );
  }
  if (active === undefined) return { keys: [], problems };
  const other = ids.filter((id) => id !== active).at(-1);
  if (ids.length > 2)
    problems.push(
      `data: ${ids.length} keys, only two are used (${active} signs, ${other} verifies too); remove the old ones`,
    );
  const keys: AdvertKey[] = [{ id: active, secret: found.get(active) as Uint8Array }];
  if (other !== undefined) keys.push({ id: other, secret: found.get(other) as Uint8Array });
  return { keys, problems };
}

type SecretObject = KubeObject & { data?: Record<string, string> };

/** What {@link PeerKeyWatcher} needs. */
export interface PeerKeyWatcherOptions {
  client: KubeClient;
  /** Where the Secret lives (the agent's namespace by default). */
  namespace: string;
  /** The Secret's name (default `egressgateway-peer-key`). */
  name: string;
  log: Logger;
  clock?: Clock;
  /** The keys changed (loaded, rotated, removed). */
  onChange?(keys: readonly AdvertKey[]): void;
}

/**
 * Watches the peer key Secret and keeps the current keys, so that a rotation needs no restart.
 * While the Secret is missing or holds no valid key, {@link PeerKeyWatcher.keys} is empty and the
 * agent's gateways run in fallback (today's API fencing); the log says why.
 */
export class PeerKeyWatcher {
  private current: readonly AdvertKey[] = [];
  private lastSummary = '';
  private readonly informer: Informer<SecretObject>;
  private started = false;

  constructor(private readonly o: PeerKeyWatcherOptions) {
    const update = () => this.update();
    this.informer = new Informer<SecretObject>(
      o.client.listWatch<SecretObject>(SECRETS, {
        namespace: o.namespace,
        fieldSelector: `metadata.name=${o.name}`,
      }),
      { name: 'peer-key-secret', logger: o.log, ...(o.clock ? { clock: o.clock } : {}) },
      { onAdd: update, onUpdate: update, onDelete: update, onSynced: update },
    );
  }

  /** The keys now: the signing key first; empty without a valid one. */
  keys(): readonly AdvertKey[] {
    return this.current;
  }

  /**
   * Starts watching; resolves after the first list (keys loaded, or their absence logged). When the
   * agent may not read the Secret (401/403), it does not watch at all: the log says which RBAC rule
   * is missing and the agent runs without a key (today's behaviour) instead of retrying forever.
   */
  async start(): Promise<void> {
    const { client, namespace, name, log } = this.o;
    try {
      await client.list<SecretObject>(SECRETS, { namespace, fieldSelector: `metadata.name=${name}` });
    } catch (err) {
      const e = toKubeApiError(err);
      if (e.status === 401 || e.status === 403) {
        log.warn(
          {
            secret: `${namespace}/${name}`,
            status: e.status,
            err: e.message,
            fix: `grant the agent's service account get, list and watch on secrets named ${name} in ${namespace} (a Role and RoleBinding), then restart the agent`,
          },
          'gateway peers off: the peer key secret may not be read, api fencing decides',
        );
        this.update();
        return;
      }
      // Anything else (API server not reachable yet): the informer retries.
    }
    this.started = true;
    this.informer.start();
    await this.informer.waitForSync();
    this.update();
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    if (this.started) await this.informer.stop();
  }

  private update(): void {
    const secret = this.informer.list().find((s) => s.metadata?.name === this.o.name);
    const { keys, problems } = parsePeerKeys(secret?.data);
    const where = { secret: `${this.o.namespace}/${this.o.name}` };
    const summary = JSON.stringify([
      secret === undefined,
      keys.map((k) => [k.id, Buffer.from(k.secret).toString('base64')]),
      problems,
    ]);
    if (summary === this.lastSummary) return;
    this.lastSummary = summary;
    for (const p of problems) this.o.log.warn({ ...where, problem: p }, 'peer key secret item refused');
    if (keys.length === 0 && this.started) {
      this.o.log.warn(
        {
          ...where,
          reason: secret === undefined ? 'secret not found' : 'no valid key in the secret',
          fix: `create it: kubectl -n ${this.o.namespace} create secret generic ${this.o.name} --from-literal=k1="$(openssl rand -base64 32)"`,
        },
        'gateway peers off: no peer key, api fencing decides',
      );
    } else if (keys.length > 0) {
      this.o.log.info({ ...where, ids: keys.map((k) => k.id), signing: keys[0]?.id }, 'peer keys loaded');
    }
    this.current = keys;
    this.o.onChange?.(keys);
  }
}
