import type { EgressPolicy } from '@egressgateway/crds';
import type { PolicyStatusChange } from '@egressgateway/failover';
import {
  EGRESS_CLUSTER_POLICIES,
  EGRESS_POLICIES,
  type KubeClient,
  type Logger,
  type OwnWrites,
  toKubeApiError,
  updateStatus,
} from '@egressgateway/kube';
import type { ControllerMetrics } from './metrics.js';
import type { Obj } from './objects.js';
import type { OwnCopies } from './status-writer.js';
import type { WriteLog } from './write-log.js';

/**
 * Policy status writes in flight at once. Few: an eviction's writes queue behind them at the API
 * server (16 made a failover's three round trips take up to 2.4 s at 100 nodes on 2 cores).
 */
const POLICY_WRITE_CONCURRENCY = 4;
/** After a conflict or a vanished policy: decide again once the informers have the newer object. */
const RETRY_AFTER_CONFLICT_MS = 20;
/** After any other failure (the API server refused or did not answer). */
const RETRY_AFTER_ERROR_MS = 1000;

/** What {@link PolicyStatusWrites} needs. */
export interface PolicyStatusWritesOptions {
  client: KubeClient;
  log: Logger;
  metrics?: ControllerMetrics | undefined;
  writeLog: WriteLog;
  own: Pick<OwnCopies, 'policies' | 'clusterPolicies'>;
  /** Asks for a reconcile in `ms` (at the latest): the engine then says again what is still wanted. */
  retryIn(ms: number): void;
}

/**
 * Writes policy statuses in the background, off the reconcile's critical path.
 *
 * A policy's status (`eip`, `node`) is a derived copy for users (`kubectl get egp`): agents act on
 * the gateway's `status.nodeList`, and the engine reads where an EIP is from the gateway status
 * first. So the reconcile does not wait for these writes: with 300 policies on one gateway they
 * took about 3 s on a 2-core machine, and an eviction whose deadline fell meanwhile waited for all
 * of them. The reconcile hands over each decision's complete list of policy changes once its
 * gateway statuses are written ({@link want}); this writes them, {@link POLICY_WRITE_CONCURRENCY}
 * at a time, one write per policy at once (a newer wish waits for the running write), and records
 * each in the replica's own copies. Its rules:
 *
 * - The failover's own writes come first: while the reconcile writes evictions and gateway
 *   statuses ({@link hold}) no policy write starts.
 *
 * - The newest decision wins: a wish not in the latest list is dropped before it starts (the
 *   engine compares with this replica's own copies on every call, so a change it no longer lists
 *   is one it no longer wants). A write already running finishes, and the next decision corrects
 *   it if it must.
 * - A conflict (409) or a vanished policy (404) asks for a reconcile in 20 ms; any other failure
 *   in 1 s. Nothing is retried blindly: the engine decides again from the newer cache.
 * - Nothing starts outside a leadership term or after its signal aborted; at the term's end every
 *   wish is dropped, and {@link whenIdle} resolves once the writes already running are done.
 */
export class PolicyStatusWrites {
  /** Latest wish per policy key, in the order they were first wished. */
  private readonly pending = new Map<string, PolicyStatusChange>();
  /** Policy key -> the status (as JSON) being written now. */
  private readonly running = new Map<string, string>();
  /** Cache key (`kind/namespace/name`) -> resourceVersion this replica's last write created. */
  private readonly written = new Map<string, string>();
  private holds = 0;
  private term: AbortSignal | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly o: PolicyStatusWritesOptions) {}

  /** Wishes that have not started yet (the backlog). */
  get backlog(): number {
    return this.pending.size;
  }

  /**
   * Replaces what is wanted with `changes`: the complete list of policy changes of a decision whose
   * gateway statuses are written. Ignored once `signal` (the leadership term) aborted.
   */
  want(changes: readonly PolicyStatusChange[], signal: AbortSignal): void {
    if (signal.aborted) return;
    if (this.term !== signal) {
      this.term = signal;
      this.pending.clear();
      signal.addEventListener('abort', () => this.dropAll(), { once: true });
    }
    const wanted = new Set<string>();
    for (const p of changes) {
      const key = keyOf(p.kind, p.namespace, p.name);
      wanted.add(key);
      // A write of this very status is running (the cache does not have it yet): nothing to add.
      if (this.running.get(key) === JSON.stringify(p.status)) this.pending.delete(key);
      else this.pending.set(key, p);
    }
    for (const key of this.pending.keys()) if (!wanted.has(key)) this.pending.delete(key);
    this.pump();
  }

  /**
   * Starts no write until the returned function is called (once): the reconcile holds these writes
   * while it writes evictions and gateway statuses, which then wait at most for the few policy
   * writes already running, not for a backlog of hundreds.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.pump();
    };
  }

  /**
   * True when `obj` is the very version this replica's last write of it created (the informer
   * delivering it): it tells the engine nothing the own copies did not, so it needs no reconcile.
   * With 300 policies written after a failover, each delivery would run the engine again over
   * every policy, and a deadline falling due meanwhile would wait behind those runs.
   */
  delivered(kind: PolicyStatusChange['kind'], obj: Obj): boolean {
    const key = keyOf(kind, obj.metadata?.namespace, obj.metadata?.name ?? '');
    const version = this.written.get(key);
    if (version === undefined || version !== obj.metadata?.resourceVersion) return false;
    this.written.delete(key);
    return true;
  }

  /** Resolves when no write is running (after a term's end: when its last write settled). */
  whenIdle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private dropAll(): void {
    this.pending.clear();
    this.o.metrics?.policyStatusBacklog.set(0);
  }

  /** Starts wishes while fewer than the limit run, never two for one policy. */
  private pump(): void {
    const term = this.term;
    if (term !== undefined && !term.aborted && this.holds === 0) {
      for (const [key, p] of this.pending) {
        if (this.running.size >= POLICY_WRITE_CONCURRENCY) break;
        if (this.running.has(key)) continue;
        this.pending.delete(key);
        this.running.set(key, JSON.stringify(p.status));
        void this.writeOne(key, p).finally(() => {
          this.running.delete(key);
          this.pump();
          if (this.running.size === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
      }
    }
    this.o.metrics?.policyStatusBacklog.set(this.pending.size);
  }

  private async writeOne(key: string, p: PolicyStatusChange): Promise<void> {
    const { client, metrics, log, writeLog, own } = this.o;
    const namespaced = p.kind === 'EgressPolicy';
    const ref = namespaced ? EGRESS_POLICIES : EGRESS_CLUSTER_POLICIES;
    // One shape for both kinds (a cluster policy is a policy without a namespace).
    const mine = (namespaced ? own.policies : own.clusterPolicies) as OwnWrites<EgressPolicy & Obj>;
    const cacheKey = p.namespace ? `${p.namespace}/${p.name}` : p.name;
    const status = JSON.stringify(p.status);
    try {
      // One attempt against the copy the decision saw: a 409 means the policy changed under the
      // decision, so the engine decides again rather than this patching blindly.
      const r = await updateStatus(
        client,
        ref,
        p.name,
        p.namespace,
        mine.get(cacheKey),
        (cur) => (JSON.stringify(cur.status ?? {}) === status ? undefined : p.status),
        1,
      );
      if (r.written) {
        mine.record(r.object);
        const version = r.object.metadata?.resourceVersion;
        if (version !== undefined) this.written.set(key, version);
        metrics?.writes.inc({ resource: ref.plural });
        writeLog.record(ref.plural, p.name, p.namespace, (r.object as { status?: unknown }).status);
      } else if (r.reason === 'not-found') {
        this.o.retryIn(RETRY_AFTER_CONFLICT_MS);
      }
    } catch (err) {
      const e = toKubeApiError(err);
      metrics?.apiErrors.inc({ op: `patch ${ref.plural}/status`, status: String(e.status) });
      if (e.status === 409 || e.status === 404) {
        log.debug({ policy: key }, 'policy changed meanwhile, deciding its status again');
        this.o.retryIn(RETRY_AFTER_CONFLICT_MS);
      } else {
        log.warn({ policy: key, err: e.message, status: e.status }, 'policy status not written, retrying');
        this.o.retryIn(RETRY_AFTER_ERROR_MS);
      }
    }
  }
}

function keyOf(kind: PolicyStatusChange['kind'], namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}
