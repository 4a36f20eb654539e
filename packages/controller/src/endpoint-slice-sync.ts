// Endpoint slices: per policy, the addresses and nodes of the pods it selects, split at
// `maxNumberEndpointPerSlice`, so that an agent reads only its gateways' slices instead of every
// pod of the cluster (upstream's EgressEndpointSlice / EgressClusterEndpointSlice). Pod events
// update the membership at once on every replica; the leader writes the slices of the policies
// that changed, after a short debounce that batches bursts (a rollout of a Deployment).
import {
  type EgressClusterPolicy,
  type EgressGateway,
  type EgressPolicy,
  POLICY_NAME_LABEL,
} from '@egressgateway/crds';
import {
  type Clock,
  Coalescer,
  EGRESS_CLUSTER_ENDPOINT_SLICES,
  EGRESS_ENDPOINT_SLICES,
  type Informer,
  InformerSet,
  isConflict,
  isNotFound,
  type KubeClient,
  type KubeObject,
  type Logger,
  PODS,
  type PodView,
  podView,
  type ResourceRef,
  toKubeApiError,
} from '@egressgateway/kube';
import { PolicyMembership } from './endpoint-membership.js';
import { planSlices, type Slice, type SliceOwner } from './endpoint-slice-plan.js';
import { forEachLimited } from './limited.js';
import type { ControllerMetrics } from './metrics.js';
import type { Obj } from './objects.js';

/** What {@link EndpointSliceSync} needs; the policies, namespaces and gateways are the controller's caches. */
export interface EndpointSliceSyncOptions {
  client: KubeClient;
  clock: Clock;
  log: Logger;
  metrics?: ControllerMetrics | undefined;
  watchdogMs?: number | undefined;
  /** Endpoints per slice (upstream's `maxNumberEndpointPerSlice`, default 100). */
  maxPerSlice: number;
  /** How long a change waits for others before the slices are written (default 100 ms). */
  debounceMs?: number | undefined;
  /** After a failed write, when the policy is tried again (default 1 s). */
  retryMs?: number | undefined;
  policies: () => readonly (EgressPolicy & Obj)[];
  clusterPolicies: () => readonly (EgressClusterPolicy & Obj)[];
  namespaces: () => readonly Obj[];
  gateways: () => readonly EgressGateway[];
}

type SliceObj = Slice & KubeObject;

interface KnownPolicy {
  owner: SliceOwner;
  /** Selection and uid as last applied: a status write changes neither. */
  signature: string;
  gateway: string | undefined;
}

/** Which slice kind a policy key (`namespace/name` or `name`) writes. */
const refOf = (key: string): ResourceRef =>
  key.includes('/') ? EGRESS_ENDPOINT_SLICES : EGRESS_CLUSTER_ENDPOINT_SLICES;

/** The policy key a slice belongs to, from its label (and namespace, for an EgressEndpointSlice). */
function sliceOwnerKey(s: SliceObj): string | undefined {
  const name = s.metadata?.labels?.[POLICY_NAME_LABEL];
  if (!name) return undefined;
  return s.metadata?.namespace ? `${s.metadata.namespace}/${name}` : name;
}

const objKey = (namespace: string | undefined, name: string) => (namespace ? `${namespace}/${name}` : name);

/**
 * Keeps every policy's endpoint slices equal to the pods it selects. Every replica watches Pods
 * (reduced to a {@link PodView}) and both slice kinds and keeps the membership current, so a new
 * leader starts warm; only the leader writes: on {@link lead} it re-plans every policy (and
 * deletes the slices of policies that are gone: no garbage collector runs in the embedded API
 * server, and a real cluster's may lag), then, after each change, the policies it touched. Slices
 * are owned by their policy (ownerReferences), labelled `spidernet.io/policy-name` and, ours,
 * `egressgateway.spidernet.io/gateway`. Writes are merge patches conditional on the
 * resourceVersion the plan read; a conflict or failure re-plans that policy later.
 */
export class EndpointSliceSync {
  readonly pods: Informer<PodView & KubeObject>;
  readonly slices: Informer<SliceObj>;
  readonly clusterSlices: Informer<SliceObj>;

  private readonly informerSet: InformerSet;
  private readonly membership = new PolicyMembership();
  private readonly known = new Map<string, KnownPolicy>();
  private readonly namespaceLabels = new Map<string, Record<string, string>>();
  private readonly dirty = new Set<string>();
  /** Own writes the informers have not delivered yet: the object written, or `null` once deleted. */
  private readonly own = new Map<
    string,
    { ref: ResourceRef; slice: SliceObj | null; rv: string | undefined }
  >();
  /** Names a create found taken by an object the informers do not show (no policy label). */
  private readonly foreignNames = new Set<string>();
  private readonly runner: Coalescer;
  private signal: AbortSignal | undefined;
  private timer: unknown;
  private stopped = false;

  constructor(private readonly o: EndpointSliceSyncOptions) {
    this.runner = new Coalescer(() => this.run(), {
      onError: (err) => o.log.error({ err }, 'endpoint slice sync failed'),
    });
    this.informerSet = new InformerSet(o.client, {
      clock: o.clock,
      logger: o.log,
      watchdogMs: o.watchdogMs,
      onChange: () => undefined,
    });
    const touched = (keys: Iterable<string>) => {
      let any = false;
      for (const k of keys) {
        this.dirty.add(k);
        any = true;
      }
      if (any) this.trigger();
    };
    this.pods = this.informerSet.add<PodView & KubeObject>(PODS, {
      transform: (p) => podView(p) as PodView & KubeObject,
      onAdd: (p) => touched(this.membership.upsertPod(p)),
      onUpdate: (_a, b) => touched(this.membership.upsertPod(b)),
      onDelete: (p) => touched(this.membership.deletePod(p.metadata?.namespace, p.metadata?.name)),
      // A sync that ran before the caches were complete did nothing: run again once they are.
      onSynced: () => this.trigger(),
    });
    const sliceEvents = (ref: ResourceRef) => ({
      selectors: { labelSelector: POLICY_NAME_LABEL },
      onAdd: (s: SliceObj) => this.sliceEvent(ref, s, false),
      onUpdate: (_a: SliceObj, b: SliceObj) => this.sliceEvent(ref, b, false),
      onDelete: (s: SliceObj) => this.sliceEvent(ref, s, true),
      onSynced: () => this.trigger(),
    });
    this.slices = this.informerSet.add<SliceObj>(EGRESS_ENDPOINT_SLICES, sliceEvents(EGRESS_ENDPOINT_SLICES));
    this.clusterSlices = this.informerSet.add<SliceObj>(
      EGRESS_CLUSTER_ENDPOINT_SLICES,
      sliceEvents(EGRESS_CLUSTER_ENDPOINT_SLICES),
    );
  }

  /** Starts the informers (every replica). */
  start(): void {
    this.informerSet.start();
  }

  /** True when pods and both slice kinds have listed once. */
  synced(): boolean {
    return this.informerSet.synced();
  }

  /** Resolves when pods and both slice kinds have listed once. */
  waitForSync(): Promise<void> {
    return this.informerSet.waitForSync();
  }

  /** Stops the informers (and the debounce timer). */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    return this.informerSet.stop();
  }

  /**
   * Writes for a leadership term: every policy and every slice's policy is planned once, then
   * whatever changes; nothing is written once `signal` aborts.
   */
  lead(signal: AbortSignal): void {
    this.signal = signal;
    for (const k of this.known.keys()) this.dirty.add(k);
    for (const s of [...this.slices.list(), ...this.clusterSlices.list()]) {
      const k = sliceOwnerKey(s);
      if (k) this.dirty.add(k);
    }
    this.trigger();
  }

  /**
   * Asks for a sync after the debounce: policies, namespaces and gateways are compared with the
   * membership then, on every replica (a standby keeps it warm, so a new leader does not rescan
   * every pod for every policy while failover waits); only the leader writes.
   */
  trigger(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.runner.trigger();
    }, this.o.debounceMs ?? 100);
  }

  /** Resolves when no sync is running or queued (a debounce still pending is not waited for). */
  whenIdle(): Promise<void> {
    return this.runner.whenIdle();
  }

  /** The endpoints of one policy (`namespace/name` or `name`), for tests and debugging. */
  endpointsOf(policyKey: string): number {
    return this.membership.members(policyKey).size;
  }

  private sliceEvent(ref: ResourceRef, s: SliceObj, deleted: boolean): void {
    const key = `${ref.plural}:${objKey(s.metadata?.namespace, s.metadata?.name ?? '')}`;
    const own = this.own.get(key);
    if (own) {
      const rv = s.metadata?.resourceVersion;
      // The informer caught up with (or went past) our own write: it is the source again.
      if (deleted || newerOrSame(rv, own.rv)) this.own.delete(key);
      // Our own write coming back: nothing to re-plan.
      if (deleted ? own.slice === null : own.rv === rv) return;
    }
    const policy = sliceOwnerKey(s);
    if (policy) {
      this.dirty.add(policy);
      this.trigger();
    }
  }

  /** Compares policies, namespaces and gateways with what membership last saw. */
  private refresh(): void {
    const seen = new Set<string>();
    const statusGateway = new Map<string, string>();
    for (const g of this.o.gateways())
      for (const n of g.status?.nodeList ?? [])
        for (const e of n.eips ?? [])
          for (const p of e.policies ?? [])
            statusGateway.set(p.namespace ? `${p.namespace}/${p.name}` : p.name, g.metadata?.name ?? '');
    const visit = (
      key: string,
      owner: SliceOwner,
      p: EgressPolicy | EgressClusterPolicy,
      nsSelector: object | undefined,
    ) => {
      seen.add(key);
      const selection = {
        namespace: owner.namespace,
        podSelector: p.spec?.appliedTo?.podSelector,
        namespaceSelector: nsSelector,
      };
      const signature = JSON.stringify([selection, owner.uid]);
      // The gateway named in the spec (admission writes the default there); else the one whose
      // status serves the policy, and the last one seen while none does (during a failover an EIP
      // is briefly placed nowhere): a label that came and went would take the slices away from
      // the agents' watches and bring them back.
      const prev = this.known.get(key);
      const gateway = p.spec?.egressGatewayName || statusGateway.get(key) || prev?.gateway;
      if (prev?.signature !== signature) {
        this.membership.setPolicy(key, selection as never);
        this.dirty.add(key);
      } else if (prev.gateway !== gateway) this.dirty.add(key);
      this.known.set(key, { owner, signature, gateway });
    };
    for (const p of this.o.policies()) {
      const name = p.metadata?.name ?? '';
      const namespace = p.metadata?.namespace ?? 'default';
      const uid = (p.metadata as { uid?: string } | undefined)?.uid ?? '';
      visit(`${namespace}/${name}`, { kind: 'EgressPolicy', name, namespace, uid }, p, undefined);
    }
    for (const p of this.o.clusterPolicies()) {
      const name = p.metadata?.name ?? '';
      const uid = (p.metadata as { uid?: string } | undefined)?.uid ?? '';
      visit(name, { kind: 'EgressClusterPolicy', name, uid }, p, p.spec?.appliedTo?.namespaceSelector);
    }
    for (const key of [...this.known.keys()]) {
      if (seen.has(key)) continue;
      this.known.delete(key);
      this.membership.removePolicy(key);
      this.dirty.add(key);
    }
    const namespaces = new Set<string>();
    for (const ns of this.o.namespaces()) {
      const name = ns.metadata?.name ?? '';
      namespaces.add(name);
      const labels = ns.metadata?.labels ?? {};
      for (const k of this.membership.setNamespaceLabels(name, labels)) this.dirty.add(k);
      this.namespaceLabels.set(name, labels);
    }
    for (const name of [...this.namespaceLabels.keys()]) {
      if (namespaces.has(name)) continue;
      this.namespaceLabels.delete(name);
      for (const k of this.membership.setNamespaceLabels(name, undefined)) this.dirty.add(k);
    }
  }

  /** The slices of every policy as the informers hold them, with own writes not delivered yet. */
  private currentSlices(): { byPolicy: Map<string, SliceObj[]>; names: Set<string> } {
    const byPolicy = new Map<string, SliceObj[]>();
    const names = new Set<string>(this.foreignNames);
    const delivered = new Set<string>();
    const add = (key: string, s: SliceObj) => {
      names.add(key.slice(key.indexOf(':') + 1));
      const policy = sliceOwnerKey(s);
      if (!policy) return;
      const list = byPolicy.get(policy);
      if (list) list.push(s);
      else byPolicy.set(policy, [s]);
    };
    for (const [ref, informer] of [
      [EGRESS_ENDPOINT_SLICES, this.slices],
      [EGRESS_CLUSTER_ENDPOINT_SLICES, this.clusterSlices],
    ] as const) {
      for (const cached of informer.list()) {
        const key = `${ref.plural}:${objKey(cached.metadata?.namespace, cached.metadata?.name ?? '')}`;
        delivered.add(key);
        const own = this.own.get(key);
        if (own === undefined) add(key, cached);
        else if (own.slice === null)
          continue; // deleted by us; the informer has not seen it yet
        else if (newerOrSame(cached.metadata?.resourceVersion, own.rv)) {
          this.own.delete(key);
          add(key, cached);
        } else add(key, own.slice);
      }
    }
    for (const [key, own] of this.own) {
      if (delivered.has(key)) continue;
      if (own.slice === null)
        this.own.delete(key); // the informer saw the delete
      else add(key, own.slice); // created by us, not delivered yet
    }
    return { byPolicy, names };
  }

  private async run(): Promise<void> {
    if (!this.synced()) return;
    const started = this.o.clock.now();
    this.refresh();
    const signal = this.signal;
    if (!signal || signal.aborted) return;
    const keys = [...this.dirty].sort();
    this.dirty.clear();
    if (keys.length === 0) return;
    const { byPolicy, names } = this.currentSlices();
    const counts = { created: 0, updated: 0, deleted: 0, failed: 0 };
    await forEachLimited(
      keys,
      4,
      async (key) => {
        try {
          await this.syncPolicy(key, byPolicy.get(key) ?? [], names, counts, signal);
        } catch (err) {
          counts.failed++;
          this.dirty.add(key);
          const e = toKubeApiError(err);
          if (isConflict(e) || isNotFound(e)) {
            this.o.log.debug(
              { policy: key, status: e.status },
              'endpoint slice changed meanwhile, replanning',
            );
          } else {
            this.o.metrics?.apiErrors.inc({ op: `write ${refOf(key).plural}`, status: String(e.status) });
            this.o.log.warn({ policy: key, err: e.message, status: e.status }, 'endpoint slice write failed');
          }
        }
      },
      () => signal.aborted,
    );
    const seconds = (this.o.clock.now() - started) / 1000;
    this.o.metrics?.endpointSliceSyncDuration.observe(seconds);
    this.o.metrics?.endpointSlicePending.set(this.dirty.size);
    if (counts.created + counts.updated + counts.deleted + counts.failed > 0)
      this.o.log.info({ policies: keys.length, ...counts, seconds }, 'endpoint slices synced');
    if (counts.failed > 0 && !signal.aborted) {
      // Retry after the informers caught up (a conflict) or the API server recovered.
      this.o.clock.setTimeout(() => this.trigger(), this.o.retryMs ?? 1000);
    }
  }

  private async syncPolicy(
    key: string,
    existing: SliceObj[],
    names: Set<string>,
    counts: { created: number; updated: number; deleted: number },
    signal: AbortSignal,
  ): Promise<void> {
    const known = this.known.get(key);
    const ref = refOf(key);
    const namespace =
      known?.owner.namespace ?? (key.includes('/') ? key.slice(0, key.indexOf('/')) : undefined);
    const plan = planSlices({
      owner: known?.owner,
      gateway: known?.gateway,
      endpoints: this.membership.members(key).values(),
      existing,
      maxPerSlice: this.o.maxPerSlice,
      nameTaken: (name) => names.has(objKey(namespace, name)),
    });
    const { client, log, metrics } = this.o;
    const ownKey = (name: string) => `${ref.plural}:${objKey(namespace, name)}`;
    for (const w of plan.create) {
      if (signal.aborted) return;
      names.add(objKey(namespace, w.name));
      let created: SliceObj;
      try {
        created = await client.create<SliceObj>(ref, w.slice as SliceObj);
      } catch (err) {
        if (isConflict(err)) this.foreignNames.add(objKey(namespace, w.name));
        throw err;
      }
      this.own.set(ownKey(w.name), { ref, slice: created, rv: created.metadata?.resourceVersion });
      metrics?.endpointSliceWrites.inc({ kind: ref.kind, op: 'create' });
      counts.created++;
      log.debug(
        { policy: key, slice: w.name, endpoints: w.slice.endpoints?.length ?? 0 },
        'endpoint slice created',
      );
    }
    for (const w of plan.update) {
      if (signal.aborted) return;
      // A merge patch replaces lists whole (endpoints, ownerReferences); a label to drop is null.
      const labels: Record<string, string | null> = { ...(w.slice.metadata?.labels ?? {}) };
      const before = existing.find((s) => s.metadata?.name === w.name)?.metadata?.labels ?? {};
      for (const k of Object.keys(before)) if (!(k in labels) && isOurLabel(k)) labels[k] = null;
      const updated = await client.patchMerge<SliceObj>(ref, w.name, namespace, {
        metadata: {
          resourceVersion: w.slice.metadata?.resourceVersion,
          labels,
          ownerReferences: w.slice.metadata?.ownerReferences,
        },
        endpoints: w.slice.endpoints,
      });
      this.own.set(ownKey(w.name), { ref, slice: updated, rv: updated.metadata?.resourceVersion });
      metrics?.endpointSliceWrites.inc({ kind: ref.kind, op: 'update' });
      counts.updated++;
      log.debug(
        { policy: key, slice: w.name, endpoints: w.slice.endpoints?.length ?? 0 },
        'endpoint slice updated',
      );
    }
    for (const d of plan.delete) {
      if (signal.aborted) return;
      try {
        await client.delete(ref, d.name, namespace);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.own.set(ownKey(d.name), { ref, slice: null, rv: d.resourceVersion });
      metrics?.endpointSliceWrites.inc({ kind: ref.kind, op: 'delete' });
      counts.deleted++;
      log.debug({ policy: key, slice: d.name }, 'endpoint slice deleted');
    }
  }
}

function isOurLabel(k: string): boolean {
  return k === POLICY_NAME_LABEL || k.startsWith('egressgateway.spidernet.io/');
}

/** True when resourceVersion `a` is `b` or later (numeric when both are, as etcd's are). */
function newerOrSame(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) >= BigInt(b);
  return a === b;
}
