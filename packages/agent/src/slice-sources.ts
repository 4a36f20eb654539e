// A gateway node's SNAT sources: the endpoint slices of the policies of the gateways that list
// this node, instead of every pod of the cluster. A worker node (no gateway lists it) watches no
// slice at all. The set of gateways changes rarely (a node joins or leaves a gateway's
// nodeSelector); then a new pair of watches starts with the new label selector and replaces the
// old one once it has listed, so the sources never go empty in between.
import {
  type EgressEndpointSlice,
  type EgressGateway,
  GATEWAY_NAME_LABEL,
  gatewayLabelValue,
  POLICY_NAME_LABEL,
} from '@egressgateway/crds';
import {
  type Clock,
  EGRESS_CLUSTER_ENDPOINT_SLICES,
  EGRESS_ENDPOINT_SLICES,
  type Informer,
  InformerSet,
  type KubeClient,
  type KubeObject,
  type Logger,
} from '@egressgateway/kube';

type SliceObj = EgressEndpointSlice & KubeObject & { metadata?: { labels?: Record<string, string> } };

interface Watch {
  /** Sorted gateway names, comma-joined: the label selector's values. */
  key: string;
  set: InformerSet;
  slices: Informer<SliceObj>;
  clusterSlices: Informer<SliceObj>;
}

/** What {@link GatewaySliceSources} needs. */
export interface GatewaySliceSourcesOptions {
  client: KubeClient;
  nodeName: string;
  clock?: Clock | undefined;
  log: Logger;
  /** Called after any change of the slices in use (the agent schedules an apply). */
  onChange: () => void;
}

/**
 * The gateways whose `status.nodeList` lists `nodeName`, as their label values (see
 * `gatewayLabelValue`), sorted: the gateways whose policies this node SNATs (it holds or may next
 * hold their EIPs).
 */
export function gatewaysOfNode(gateways: readonly EgressGateway[], nodeName: string): string[] {
  return gateways
    .filter((g) => (g.status?.nodeList ?? []).some((n) => n.name === nodeName))
    .map((g) => g.metadata?.name ?? '')
    .filter((n) => n !== '')
    .map(gatewayLabelValue)
    .sort();
}

/**
 * Watches the EgressEndpointSlices and EgressClusterEndpointSlices of this node's gateways (label
 * `egressgateway.spidernet.io/gateway in (...)`, which the controller writes) and answers, per
 * policy, the addresses of the pods it selects on every node.
 *
 * @example
 * const sources = new GatewaySliceSources({ client, nodeName: 'gw1', log, onChange: apply });
 * sources.update(gateways.list()); // on every change of the gateways
 * sources.addresses('default/p1'); // ['198.18.1.2', ...]
 */
export class GatewaySliceSources {
  private active: Watch | undefined;
  private pending: Watch | undefined;
  private wanted = '';
  private stopped = false;
  private index: Map<string, string[]> | undefined;

  constructor(private readonly o: GatewaySliceSourcesOptions) {}

  /** The gateways whose slices are watched now (comma-joined), for tests and logs. */
  get watching(): string {
    return this.active?.key ?? '';
  }

  /**
   * Follows the gateways that list this node: starts watching a new set (replacing the old one
   * once it has listed), or stops watching when no gateway lists the node.
   */
  update(gateways: readonly EgressGateway[]): void {
    if (this.stopped) return;
    const key = gatewaysOfNode(gateways, this.o.nodeName).join(',');
    if (key === this.wanted) return;
    this.wanted = key;
    if (this.pending) void this.close(this.pending);
    this.pending = undefined;
    if (key === '') {
      if (this.active) {
        this.o.log.info({}, 'no gateway lists this node: endpoint slices no longer watched');
        void this.close(this.active);
        this.active = undefined;
        this.index = undefined;
        this.o.onChange();
      }
      return;
    }
    if (this.active?.key === key) return;
    this.o.log.info({ gateways: key }, 'watching endpoint slices of the gateways listing this node');
    const watch = this.open(key);
    this.pending = watch;
    void watch.set.waitForSync().then(() => {
      if (this.pending !== watch) return;
      const old = this.active;
      this.active = watch;
      this.pending = undefined;
      this.index = undefined;
      if (old) void this.close(old);
      this.o.onChange();
    });
  }

  /**
   * True when the slices of every gateway listing the node have listed once (or none lists it);
   * while a changed set starts, the previous one keeps serving and counts as synced.
   */
  synced(): boolean {
    if (this.wanted === '') return true;
    return this.active !== undefined;
  }

  /** The addresses of the pods policy `key` (`namespace/name` or `name`) selects, on every node. */
  addresses(key: string): readonly string[] {
    if (!this.active) return [];
    if (!this.index) this.index = buildIndex(this.active);
    return this.index.get(key) ?? [];
  }

  /** Stops every watch. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [this.active, this.pending].filter((w): w is Watch => w !== undefined);
    this.active = undefined;
    this.pending = undefined;
    await Promise.all(all.map((w) => this.close(w)));
  }

  private open(key: string): Watch {
    const set = new InformerSet(this.o.client, {
      clock: this.o.clock,
      logger: this.o.log,
      onChange: () => {
        if (this.active?.key !== key) return;
        this.index = undefined;
        this.o.onChange();
      },
    });
    const selectors = { labelSelector: `${GATEWAY_NAME_LABEL} in (${key})` };
    const watch: Watch = {
      key,
      set,
      slices: set.add<SliceObj>(EGRESS_ENDPOINT_SLICES, { selectors }),
      clusterSlices: set.add<SliceObj>(EGRESS_CLUSTER_ENDPOINT_SLICES, { selectors }),
    };
    set.start();
    return watch;
  }

  private async close(w: Watch): Promise<void> {
    await w.set.stop();
  }
}

function buildIndex(w: Watch): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (key: string, s: SliceObj) => {
    let list = out.get(key);
    if (!list) {
      list = [];
      out.set(key, list);
    }
    for (const ep of s.endpoints ?? []) list.push(...(ep.ipv4 ?? []), ...(ep.ipv6 ?? []));
  };
  for (const s of w.slices.list()) {
    const name = s.metadata?.labels?.[POLICY_NAME_LABEL];
    if (name) add(`${s.metadata?.namespace ?? ''}/${name}`, s);
  }
  for (const s of w.clusterSlices.list()) {
    const name = s.metadata?.labels?.[POLICY_NAME_LABEL];
    if (name) add(name, s);
  }
  return out;
}
