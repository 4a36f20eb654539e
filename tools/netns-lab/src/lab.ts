import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ArpRecord, type Arrival, parseArrival } from './analysis.js';
import { type ApiForward, startApiForward } from './api-forward.js';
import {
  agentArgs,
  apiServerArgs,
  chartAgentArgs,
  chartControllerArgs,
  controllerArgs,
  nodeArgsFor,
  PROCESS_LEASE,
  PROCESS_PEER_KEY,
  type SecureApiFiles,
} from './app-args.js';
import { ensureBuilt, IMAGES_MODE_PACKAGES, LAB_PACKAGES } from './build.js';
import {
  type ChartPod,
  chartClusterObjects,
  chartPod,
  podmanCpus,
  podmanMemory,
  renderChart,
} from './chart.js';
import {
  type PolicyShape,
  seedCluster,
  seedEgressObjects,
  WEBHOOK_CONFIGURATION,
  WEBHOOK_SERVICE,
} from './cluster.js';
import {
  CONFIG_DIR,
  type ContainerSpec,
  type LabImages,
  labImages,
  PODMAN_GLOBAL,
  SA_DIR,
  sweepStaleContainers,
} from './containers.js';
import { ipn, nsExec, run, sleep, tryRun } from './exec.js';
import {
  CHART_LEASE,
  CHART_NAMESPACE,
  CHART_SERVICE_ACCOUNTS,
  caFromKubeconfig,
  chartConfYaml,
  type LabCredentials,
  newLabCredentials,
  serviceAccountUser,
  tokenAuthCsv,
} from './in-cluster.js';
import { masterDownMs, validateAdvert, vrrpPriority } from './keepalived.js';
import { ApiCallError, LabApi, paths, webhookPath } from './kube-api.js';
import { type LabPlan, type NodePlan, namespacesOf, planLab, uniquePrefix } from './plan.js';
import { preflight } from './preflight.js';
import { type StreamEvent, startPodProbe, startProbeServer } from './probes.js';
import { type LabProcess, ProcessSet } from './processes.js';
import { FAST_TIMING, type LabTiming, validateLabTiming } from './settings.js';
import { buildTopology, destroyNamespaces, listLabNamespaces } from './topology.js';
import { VrrpGroup } from './vrrp-group.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The repository root, found from this file (src/ or a bundle in node_modules/.cache). */
export function findRepoRoot(from = here): string {
  let dir = from;
  for (let i = 0; i < 8; i++) {
    if (dir.endsWith('/tools/netns-lab')) return dirname(dirname(dir));
    dir = dirname(dir);
  }
  throw new Error(`cannot find the repository root from ${from}`);
}

/** Something that happened in the lab, for the timeline. */
export interface LabEvent {
  t: number;
  kind: 'progress' | 'fault' | 'holder' | 'process';
  text: string;
}

/** How to build and run a lab. */
export interface LabOptions {
  gateways?: number;
  workers?: number;
  podsPerWorker?: number;
  /** Controller replicas (default 2). */
  controllers?: number;
  timing?: LabTiming;
  detection?: 'deadline' | 'poll';
  probeIntervalMs?: number;
  /** Unique namespace prefix (default: a random `egl-xxxxxx`). */
  prefix?: string;
  /** Folder for logs and records (default: `$TMPDIR/egw-netns-lab/<prefix>`). */
  runDir?: string;
  /** Build missing or stale packages first (default true). */
  build?: boolean;
  onEvent?: (e: LabEvent) => void;
  /**
   * Another agent executable (e.g. a patched build under test); default `$EGW_LAB_AGENT_BIN`, else
   * packages/agent/dist/bin.js.
   */
  agentBin?: string;
  /**
   * Run keepalived (VRRP, the benchmark's reference row) on the gateway nodes instead of the API
   * server, controllers and agents; `advertSeconds` is its advert interval (VRRPv3).
   */
  keepalived?: { advertSeconds: number };
  /**
   * Run the controllers and agents from the images of `npm run images` with podman instead of
   * as processes: configuration as the Helm chart passes it (arguments, the env and CPU and memory
   * limits of the rendered chart's pods, the ConfigMap's `conf.yml`, a ServiceAccount mount read by
   * client-node's in-cluster configuration), agents with NET_ADMIN and NET_RAW, controllers with no
   * capabilities on a read-only root filesystem.
   * The API server then serves HTTPS, authenticates every request by token (one per chart
   * ServiceAccount, one for the lab) and records each in `<runDir>/audit.jsonl`.
   */
  images?: boolean;
  /** What the EgressPolicy steers (default: only the external server, by `destSubnet`). */
  policy?: PolicyShape;
  /**
   * Gateway peers on the agents. Process mode: the lab creates the key Secret
   * (`kube-system/egressgateway-peer-key`, one random key) and starts the agents with `--peers
   * true`; default off (`--peers false`, the agents decide on the API server alone). Images mode:
   * the chart's `agent.peers.enabled`, default as the chart's values say; the lab creates the key
   * Secret the chart renders.
   */
  peers?: boolean;
  /**
   * `false`: the controllers run upstream's node-ready mode (`--gateway-failover false`: a
   * tunnel's phase follows its Node's Ready condition, heartbeats never time out). Process mode.
   */
  gatewayFailover?: boolean;
}

/** The controller's webhook configurations (imported late: the lab builds the packages first). */
async function labWebhookConfigurations(namespace: string) {
  const { webhookConfigurations } = await import('@egressgateway/controller');
  return webhookConfigurations({ namespace, name: WEBHOOK_CONFIGURATION, service: WEBHOOK_SERVICE.name });
}

/**
 * A cluster of network namespaces on one machine: LAN switch, external server, control
 * namespace (API server, controllers), gateway and worker nodes (one agent each) and pods, with a
 * probe from every pod to the server and an ARP/ND watcher on the LAN (or, with
 * `keepalived`, the same topology with keepalived on the gateways instead of our apps: the
 * benchmark's reference rows). Use {@link Lab.start};
 * always call {@link Lab.teardown} (it is also registered for process exit and Ctrl-C).
 *
 * @example
 * ```ts
 * const lab = await Lab.start({ gateways: 3, workers: 1 });
 * try {
 *   const before = await lab.holder();
 *   lab.signalAgent(before!, 'SIGKILL');
 *   await lab.waitFor(async () => (await lab.holder()) !== before, 10_000);
 * } finally {
 *   await lab.teardown();
 * }
 * ```
 */
export class Lab {
  readonly plan: LabPlan;
  readonly runDir: string;
  readonly timing: LabTiming;
  readonly repoRoot: string;
  readonly procs: ProcessSet;
  /** Probe arrivals at the server. */
  readonly arrivals: Arrival[] = [];
  /** ARP/ND packets claiming the EIP. */
  readonly arp: ArpRecord[] = [];
  /** Pod-side stream events (errors, reconnects). */
  readonly streamEvents: StreamEvent[] = [];
  /** Timeline of faults, holder changes and progress. */
  readonly events: LabEvent[] = [];
  /** Holder of the EIP per the gateway status, as polled. */
  readonly holderChanges: Array<{ t: number; node: string }> = [];
  api: LabApi;
  readonly agents = new Map<string, LabProcess>();
  readonly controllers = new Map<string, LabProcess>();
  apiServer: LabProcess | undefined;
  /** keepalived on the gateways (keepalived labs only). */
  vrrp: VrrpGroup | undefined;
  private readonly podProbes: LabProcess[] = [];
  private readonly controllerSlots = new Map<string, number>();
  private images: LabImages | undefined;
  /**
   * `helm template` of the chart with the lab's values (images mode): the RBAC, webhook
   * configurations and Secrets the lab creates, and the env and limits of the apps' containers.
   */
  private rendered: { chart: string; pods: Record<'controller' | 'agent', ChartPod> } | undefined;
  /** Tokens of the secured API server (images mode). */
  private readonly credentials: LabCredentials | undefined;
  /** Image used for agents started from now on (a rolling update switches it). */
  private agentImage: string | undefined;
  private readonly namespaces: string[] = [];
  private forward: ApiForward | undefined;
  private polling = false;
  private lastHolder = '';
  private tornDown = false;
  private readonly options: LabOptions;
  private readonly exitHandler = () => this.teardownSync();
  private readonly signalHandler = (sig: NodeJS.Signals) => {
    this.teardownSync();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };

  private constructor(options: LabOptions) {
    this.options = options;
    this.repoRoot = findRepoRoot();
    this.timing = validateLabTiming(options.timing ?? FAST_TIMING);
    this.plan = planLab({
      prefix: options.prefix ?? uniquePrefix(),
      gateways: options.gateways ?? 3,
      workers: options.workers ?? 1,
      podsPerWorker: options.podsPerWorker ?? 1,
    });
    this.runDir = options.runDir ?? join(tmpdir(), 'egw-netns-lab', this.plan.prefix);
    mkdirSync(this.runDir, { recursive: true });
    this.procs = new ProcessSet(this.runDir);
    this.api = new LabApi('http://127.0.0.1:1');
    this.credentials = options.images && !options.keepalived ? newLabCredentials() : undefined;
  }

  /** Every request the API server answered, one JSON line each (images mode; `RequestRecord` of the apiserver). */
  get auditLog(): string {
    return join(this.runDir, 'audit.jsonl');
  }

  /** The API server's CA certificate (PEM file; images mode), refreshed at every API server start. */
  get apiCaFile(): string {
    return join(this.runDir, 'apiserver-ca.crt');
  }

  /** Builds and starts a lab; on any failure it cleans up and rethrows. */
  static async start(options: LabOptions = {}): Promise<Lab> {
    const lab = new Lab(options);
    process.once('exit', lab.exitHandler);
    // Ctrl-C or a kill must not leave namespaces behind.
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, lab.signalHandler);
    try {
      await lab.boot();
      return lab;
    } catch (err) {
      await lab.teardown();
      throw err;
    }
  }

  /** Records an event (and tells the listener). */
  note(kind: LabEvent['kind'], text: string): void {
    const e = { t: Date.now(), kind, text };
    this.events.push(e);
    this.options.onEvent?.(e);
  }

  private bin(pkg: string): string {
    return join(this.repoRoot, 'packages', pkg, 'dist', 'bin.js');
  }

  private get helpers(): string {
    return join(this.repoRoot, 'tools', 'netns-lab', 'helpers');
  }

  private helper(file: string): string {
    return join(this.helpers, file);
  }

  /** True when the agents run the gateway peers (`LabOptions.peers`, or the chart's in images mode). */
  get peers(): boolean {
    if (this.rendered) return this.rendered.pods.agent.env.EGW_PEERS === 'true';
    return this.options.peers === true;
  }

  /** The chart as this lab rendered it (images mode; undefined for processes). */
  get chart(): string | undefined {
    return this.rendered?.chart;
  }

  /**
   * How long the EIP takes to move after its holder is lost, by configuration (ms): the eviction
   * timeout, or keepalived's master-down interval of the slowest backup.
   */
  get moveTimeoutMs(): number {
    const k = this.options.keepalived;
    if (!k) return this.timing.eipEvictionTimeout * 1000;
    const gws = this.plan.nodes.filter((n) => n.role === 'gateway').length;
    return Math.ceil(masterDownMs(k.advertSeconds, vrrpPriority(gws, gws)));
  }

  private async boot(): Promise<void> {
    this.note('progress', 'checking root, tools and kernel features');
    preflight(this.plan.prefix);
    if (this.options.keepalived) return this.bootKeepalived(this.options.keepalived.advertSeconds);
    if (this.options.build !== false) {
      ensureBuilt(
        this.repoRoot,
        (p) => this.note('progress', `building packages/${p}`),
        this.options.images ? IMAGES_MODE_PACKAGES : LAB_PACKAGES,
      );
    }
    if (this.options.images) {
      const swept = sweepStaleContainers((prefix) => listLabNamespaces(prefix).length > 0);
      if (swept.length > 0) this.note('progress', `removed ${swept.length} container(s) of earlier runs`);
      this.images = labImages(this.repoRoot);
      this.agentImage = this.images.agent;
      const chart = renderChart(
        this.repoRoot,
        this.options.peers === undefined ? {} : { 'agent.peers.enabled': String(this.options.peers) },
      );
      this.rendered = {
        chart,
        pods: { controller: chartPod(chart, 'controller'), agent: chartPod(chart, 'agent') },
      };
      this.note('progress', `images mode: ${this.images.controller}, ${this.images.agent}`);
    }
    this.note('progress', `building namespaces (prefix ${this.plan.prefix})`);
    // Registered before creation, so a failure half-way still deletes what exists.
    buildTopology(this.plan, this.namespaces);
    await this.startApiServer();
    await this.startForwarder();
    this.note('progress', 'applying CRDs, registering Nodes and Pods, EgressGateway and EgressPolicy');
    await seedCluster(this.api, this.plan);
    if (this.images) {
      await this.seedChartNamespace();
      await this.seedChartObjects();
    } else {
      for (const conf of await labWebhookConfigurations(PROCESS_LEASE.namespace))
        await this.createOnce(webhookPath(conf.kind), conf);
    }
    this.startHolderPoll();
    this.note('progress', `starting ${this.options.controllers ?? 2} controller replica(s)`);
    for (let i = 0; i < (this.options.controllers ?? 2); i++) this.startController(`ctl-${'ab'[i] ?? i}`, i);
    this.note('progress', 'creating the EgressGateway and EgressPolicy through the admission webhook');
    await seedEgressObjects(this.api, this.plan, this.options.policy);
    if (!this.images && this.peers) await this.seedPeerKey();
    this.note('progress', `starting ${this.plan.nodes.length} agents`);
    for (const n of this.plan.nodes) this.startAgent(n.name);
    this.note('progress', 'waiting for the EIP to be placed');
    if (!(await this.waitFor(async () => (await this.holder()) !== undefined, 60_000)))
      throw new Error(`no node got the EIP in 60 s; logs are in ${this.runDir}`);
    // Probes start once every agent had time to program its node: a flow whose first packet
    // reaches a gateway before its SNAT rule exists stays un-NATed in conntrack (see README). The
    // holder binds the EIP after its SNAT rules; agents from images start slower than processes,
    // so the status alone is not enough.
    const bound = await this.waitFor(async () => {
      const h = await this.holder();
      return h !== undefined && this.eipBoundOn(h);
    }, 30_000);
    if (!bound) throw new Error(`the EIP holder did not bind the EIP in 30 s; logs are in ${this.runDir}`);
    await sleep(1500);
    await this.startProbesAndWait();
  }

  /** Starts the probe server, watcher and pod probes; resolves when the server sees the EIP. */
  private async startProbesAndWait(): Promise<void> {
    this.startProbes();
    this.note('progress', 'probes started: waiting for the server to see the EIP');
    const ok = await this.waitFor(
      () =>
        (!this.ipv4 || this.lastSource('u4') === this.plan.eip4) &&
        (!this.ipv6 || this.lastSource('u6') === this.plan.eip6),
      30_000,
    );
    if (!ok)
      throw new Error(
        `the server saw ${this.lastSource('u4')} / ${this.lastSource('u6')}, not the EIP, for 30 s; logs are in ${this.runDir}`,
      );
    this.note(
      'progress',
      `ready: EIP on ${await this.holder()}; the server sees ${this.ipv4 ? this.plan.eip4 : this.plan.eip6}`,
    );
  }

  /** The reference lab: same topology, probes and watcher, keepalived instead of our apps. */
  private async bootKeepalived(advertSeconds: number): Promise<void> {
    validateAdvert(advertSeconds);
    const version = VrrpGroup.version();
    if (!version)
      throw new Error(
        'keepalived is not installed (Debian package keepalived): cannot run the reference lab',
      );
    this.note('progress', `building namespaces (prefix ${this.plan.prefix})`);
    buildTopology(this.plan, this.namespaces);
    this.note('progress', `starting ${version} on the gateways (advert ${advertSeconds} s, VRRPv3)`);
    this.vrrp = new VrrpGroup(this.procs, this.plan, this.runDir, advertSeconds, (node, t) => {
      this.holderChanges.push({ t, node });
      this.note('holder', `keepalived: EIP on ${node}`);
    });
    this.vrrp.start();
    if (!(await this.waitFor(() => this.vrrp?.holder() !== undefined, 30_000 + 4 * advertSeconds * 1000)))
      throw new Error(`no gateway got the EIP from keepalived; logs are in ${this.runDir}`);
    await this.startProbesAndWait();
  }

  private async startApiServer(): Promise<void> {
    const secure = this.secureApiFiles();
    // The kubeconfig it writes carries the CA of the certificate it makes at start: wait for it.
    const kubeconfig = join(this.runDir, 'kubeconfig');
    if (secure) rmSync(kubeconfig, { force: true });
    const p = this.procs.start({
      name: 'apiserver',
      ns: this.plan.ctl,
      command: process.execPath,
      args: [
        ...nodeArgsFor(this.bin('apiserver')),
        ...apiServerArgs(this.plan, this.runDir, secure, {
          namespace: this.images ? CHART_NAMESPACE : PROCESS_LEASE.namespace,
        }),
      ],
    });
    this.apiServer = p;
    if (!secure) return;
    let ca: string | undefined;
    await this.waitFor(() => {
      ca = existsSync(kubeconfig) ? caFromKubeconfig(readFileSync(kubeconfig, 'utf8')) : undefined;
      return ca !== undefined || !p.alive();
    }, 30_000);
    if (ca === undefined)
      throw new Error(`the API server wrote no certificate; see ${join(this.runDir, 'apiserver.log')}`);
    // Every pod's ServiceAccount mount gets the new CA (a restart makes a new certificate): the
    // apps read ca.crt for each new connection.
    writeFileSync(this.apiCaFile, ca);
    const mounts = join(this.runDir, 'mounts');
    if (existsSync(mounts))
      for (const m of readdirSync(mounts)) writeFileSync(join(mounts, m, 'serviceaccount', 'ca.crt'), ca);
  }

  /** The token, token-file and audit-log paths of a secured API server (images mode), written. */
  private secureApiFiles(): SecureApiFiles | undefined {
    const c = this.credentials;
    if (!c) return undefined;
    const files: SecureApiFiles = {
      adminTokenFile: join(this.runDir, 'admin-token'),
      tokenAuthFile: join(this.runDir, 'tokens.csv'),
      auditLogPath: this.auditLog,
    };
    writeFileSync(files.adminTokenFile, c.admin, { mode: 0o600 });
    if (!existsSync(files.tokenAuthFile))
      writeFileSync(files.tokenAuthFile, tokenAuthCsv(c), { mode: 0o600 });
    return files;
  }

  /** The release namespace the chart installs into (ServiceAccounts' namespace, the controllers' Lease). */
  private async seedChartNamespace(): Promise<void> {
    try {
      await this.api.create('/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: CHART_NAMESPACE },
      });
    } catch (err) {
      if (!(err instanceof ApiCallError && err.status === 409)) throw err;
    }
  }

  /** The gateway peers' key Secret the agents run as processes read (one random 32-byte key). */
  private async seedPeerKey(): Promise<void> {
    this.note('progress', 'creating the gateway peers key Secret');
    await this.createOnce('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: PROCESS_PEER_KEY.namespace },
    });
    await this.createOnce(`/api/v1/namespaces/${PROCESS_PEER_KEY.namespace}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: PROCESS_PEER_KEY.name, namespace: PROCESS_PEER_KEY.namespace },
      type: 'Opaque',
      data: { k1: randomBytes(32).toString('base64') },
    });
  }

  /**
   * The chart's RBAC and webhook configurations as `helm install` would create them, so the API
   * server (RBAC mode) allows the apps exactly what the chart grants them; with peers on, the
   * chart's peer key Secret too.
   */
  private async seedChartObjects(): Promise<void> {
    if (!this.chart) throw new Error('the chart is rendered in images mode only');
    for (const { path, object } of chartClusterObjects(this.chart)) await this.createOnce(path, object);
  }

  private async createOnce(path: string, object: unknown): Promise<void> {
    try {
      await this.api.create(path, object);
    } catch (err) {
      if (!(err instanceof ApiCallError && err.status === 409)) throw err;
    }
  }

  /** The API server, reached from the host namespace (see {@link startApiForward}). */
  private async startForwarder(): Promise<void> {
    const c = this.credentials;
    this.forward = await startApiForward(
      this.procs,
      this.plan,
      this.runDir,
      this.helper('unix-forward.mjs'),
      c ? { caFile: this.apiCaFile, token: c.admin } : undefined,
    );
    this.api = new LabApi(this.forward.url, 3000, c?.admin);
    if (!(await this.waitFor(() => this.api.ready(), 30_000)))
      throw new Error(`the API server did not become ready; see ${join(this.runDir, 'apiserver.log')}`);
  }

  /** Kubeconfig for kubectl in the host namespace (valid while this process runs). */
  get hostKubeconfig(): string {
    return join(this.runDir, 'kubeconfig-host');
  }

  /**
   * Starts (or restarts) a controller replica with identity `id`. A restarted replica keeps its
   * health port (replicas share the control namespace).
   */
  startController(id: string, index?: number): LabProcess {
    const slot = index ?? this.controllerSlots.get(id) ?? this.controllerSlots.size;
    this.controllerSlots.set(id, slot);
    if (this.images) {
      const p = this.procs.startContainer({
        name: `controller-${id}`,
        container: this.containerSpec(
          `controller-${id}`,
          this.plan.ctl,
          this.images.controller,
          'controller',
          {
            pod: { 'metadata.name': id },
            args: chartControllerArgs(this.timing, {
              index: slot,
              detection: this.options.detection ?? 'deadline',
              leaseNamespace: CHART_LEASE.namespace,
              leaseName: CHART_LEASE.name,
            }),
          },
        ),
      });
      this.controllers.set(id, p);
      return p;
    }
    const p = this.procs.start({
      name: `controller-${id}`,
      ns: this.plan.ctl,
      command: process.execPath,
      args: [
        ...nodeArgsFor(this.bin('controller')),
        ...controllerArgs(this.plan, this.runDir, this.timing, {
          id,
          index: slot,
          detection: this.options.detection ?? 'deadline',
          ...(this.options.gatewayFailover === false ? { gatewayFailover: false } : {}),
          ...(this.ipv6 ? {} : { ipv6: false }),
          ...(this.ipv4 ? {} : { ipv4: false }),
        }),
      ],
    });
    this.controllers.set(id, p);
    return p;
  }

  /** Starts (or restarts) the agent of a node. */
  startAgent(node: string): LabProcess {
    const n = this.node(node);
    if (this.images && this.agentImage) {
      const p = this.procs.startContainer({
        name: `agent-${node}`,
        container: this.containerSpec(`agent-${node}`, n.ns, this.agentImage, 'agent', {
          pod: { 'spec.nodeName': n.name },
          args: chartAgentArgs(this.timing, n),
        }),
      });
      this.agents.set(node, p);
      return p;
    }
    const p = this.procs.start({
      name: `agent-${node}`,
      ns: n.ns,
      command: process.execPath,
      args: [
        ...nodeArgsFor(this.options.agentBin ?? process.env.EGW_LAB_AGENT_BIN ?? this.bin('agent')),
        ...agentArgs(
          this.plan,
          this.runDir,
          this.timing,
          n,
          this.options.peers === true,
          this.ipv6,
          this.ipv4,
        ),
      ],
    });
    this.agents.set(node, p);
    return p;
  }

  /**
   * A container as a pod of the chart would be: the ServiceAccount mount (its token, the API
   * server's CA, the namespace) that client-node's in-cluster configuration reads with
   * `KUBERNETES_SERVICE_HOST`/`_PORT`, the ConfigMap's `conf.yml` where the chart mounts it
   * (`CONFIGMAP_PATH`), the chart's env (its downward-API fields from `o.pod` and the release
   * namespace) and CPU and memory limits, the rest as arguments.
   */
  private containerSpec(
    name: string,
    netns: string,
    image: string,
    app: 'controller' | 'agent',
    o: { pod: Record<string, string>; args: string[] },
  ): ContainerSpec {
    const c = this.credentials;
    if (!c || !this.rendered)
      throw new Error('containers need the secured API server and the chart (images mode)');
    const pod = this.rendered.pods[app];
    const fields: Record<string, string> = { 'metadata.namespace': CHART_NAMESPACE, ...o.pod };
    const env = { ...pod.env };
    for (const [k, path] of Object.entries(pod.fieldEnv)) {
      const v = fields[path];
      if (v === undefined)
        throw new Error(`the chart's ${app} sets ${k} from ${path}, which the lab does not give`);
      env[k] = v;
    }
    if (env.CONFIGMAP_PATH !== `${CONFIG_DIR}/conf.yml`)
      throw new Error(
        `the chart's ${app} reads its ConfigMap at ${env.CONFIGMAP_PATH}, the lab mounts it at ${CONFIG_DIR}`,
      );
    const dir = join(this.runDir, 'mounts', name);
    mkdirSync(join(dir, 'serviceaccount'), { recursive: true });
    mkdirSync(join(dir, 'config'), { recursive: true });
    // 0644 like a projected ServiceAccount volume's default mode: the controller runs as 65532.
    writeFileSync(join(dir, 'serviceaccount', 'token'), c[app], { mode: 0o644 });
    writeFileSync(join(dir, 'serviceaccount', 'ca.crt'), readFileSync(this.apiCaFile));
    writeFileSync(join(dir, 'serviceaccount', 'namespace'), CHART_NAMESPACE);
    writeFileSync(join(dir, 'config', 'conf.yml'), chartConfYaml(this.plan, this.timing));
    return {
      name: `${this.plan.prefix}-${name}`,
      lab: this.plan.prefix,
      netns,
      image,
      app,
      mounts: [
        [join(dir, 'serviceaccount'), SA_DIR],
        [join(dir, 'config'), CONFIG_DIR],
      ],
      env: {
        ...env,
        KUBERNETES_SERVICE_HOST: this.plan.api4,
        KUBERNETES_SERVICE_PORT: String(this.plan.apiPort),
      },
      args: o.args,
      limits: {
        ...(pod.limits.cpu === undefined ? {} : { cpus: podmanCpus(pod.limits.cpu) }),
        ...(pod.limits.memory === undefined ? {} : { memory: podmanMemory(pod.limits.memory) }),
      },
    };
  }

  /** The ServiceAccount (as the API server names its user) a container of `app` runs as. */
  serviceAccountOf(app: 'controller' | 'agent'): string {
    return serviceAccountUser(CHART_NAMESPACE, CHART_SERVICE_ACCOUNTS[app]).user;
  }

  private startProbes(): void {
    startProbeServer(this.procs, this.plan, this.helpers, this);
    this.startPodProbes();
  }

  private startPodProbes(): void {
    for (const pod of this.plan.pods)
      this.podProbes.push(
        startPodProbe(this.procs, this.plan, pod, this.helpers, this, this.options.probeIntervalMs ?? 10),
      );
  }

  /**
   * Restarts the pod probes (new UDP flows and a new TCP stream) and waits until the server sees
   * them from the EIP, so a scenario starts from fresh flows whatever the previous one left.
   */
  async restartProbes(): Promise<boolean> {
    for (const p of this.podProbes.splice(0)) {
      this.procs.signal(p, 'SIGKILL');
      await p.exited;
    }
    const since = Date.now();
    this.startPodProbes();
    return this.waitFor(() => {
      const fresh = this.arrivals.filter((a) => a.t > since);
      const kinds = [...(this.ipv4 ? (['u4', 's4'] as const) : []), ...(this.ipv6 ? (['u6'] as const) : [])];
      return kinds.every((k) =>
        fresh.some((a) => a.k === k && a.s === (k === 'u6' ? this.plan.eip6 : this.plan.eip4)),
      );
    }, 10_000);
  }

  /**
   * Sends UDP from `pod` to `node`'s LAN addresses for `ms` and returns the source addresses the
   * node saw (a probe server in the node's namespace, ports 9100-9102): the pod's own addresses
   * when the traffic stays inside the cluster, the EIP when it was steered through a gateway.
   */
  async sourcesSeenBy(node: string, pod: string, ms: number): Promise<{ u4: string[]; u6: string[] }> {
    const n = this.node(node);
    const p = this.plan.pods.find((x) => x.name === pod);
    if (!p) throw new Error(`no pod ${pod} in this lab`);
    const ports = ['9100', '9101', '9102'];
    const seen = { u4: new Set<string>(), u6: new Set<string>() };
    const server = this.procs.start({
      name: `in-cluster-server-${node}`,
      ns: n.ns,
      command: process.execPath,
      args: [this.helper('probe-server.mjs'), n.lan4, n.lan6, ...ports],
      onLine: (l) => {
        const a = parseArrival(l);
        if (a && (a.k === 'u4' || a.k === 'u6')) seen[a.k].add(a.s);
      },
    });
    await sleep(300);
    const client = this.procs.start({
      name: `in-cluster-client-${pod}`,
      ns: p.ns,
      command: process.execPath,
      args: [this.helper('probe-client.mjs'), n.lan4, n.lan6, ...ports, '20'],
    });
    await sleep(ms);
    for (const x of [client, server]) {
      this.procs.signal(x, 'SIGKILL');
      await x.exited;
    }
    return { u4: [...seen.u4].sort(), u6: [...seen.u6].sort() };
  }

  /** EgressClusterInfo/default as stored (undefined when missing or the API is down). */
  async clusterInfo(): Promise<{ status?: unknown } | undefined> {
    try {
      return await this.api.get<{ status?: unknown }>(paths.clusterInfo);
    } catch {
      return undefined;
    }
  }

  /** The node plan of a node name. */
  node(name: string): NodePlan {
    const n = this.plan.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name} in this lab`);
    return n;
  }

  /** Node holding the EIP per the EgressGateway status (undefined when none or the API is down). */
  async holder(): Promise<string | undefined> {
    if (this.vrrp) return this.vrrp.holder();
    try {
      const g = await this.api.get<{
        status?: { nodeList?: Array<{ name: string; eips?: Array<{ ipv4?: string; ipv6?: string }> }> };
      }>(paths.gateway('egw-lab'));
      // The IPv4 EIP names the holder; an IPv6-only cluster has only the IPv6 one.
      const held = (e: { ipv4?: string; ipv6?: string }) =>
        this.ipv4 ? e.ipv4 === this.plan.eip4 : e.ipv6 === this.plan.eip6;
      return g.status?.nodeList?.find((n) => (n.eips ?? []).some(held))?.name;
    } catch {
      return undefined;
    }
  }

  /** The current leader's identity from the Lease (undefined when unknown). */
  async leader(): Promise<string | undefined> {
    if (this.vrrp) return undefined;
    try {
      const lease = this.images ? CHART_LEASE : PROCESS_LEASE;
      const l = await this.api.get<{ spec?: { holderIdentity?: string } }>(
        paths.lease(lease.namespace, lease.name),
      );
      return l.spec?.holderIdentity || undefined;
    } catch {
      return undefined;
    }
  }

  private startHolderPoll(): void {
    this.polling = true;
    void (async () => {
      while (this.polling) {
        const h = await this.holder();
        if (h !== undefined && h !== this.lastHolder) {
          this.lastHolder = h;
          this.holderChanges.push({ t: Date.now(), node: h });
          this.note('holder', `EgressGateway status: EIP on ${h}`);
        }
        await sleep(50);
      }
    })();
  }

  /** Source address of the latest arrival of a kind. */
  lastSource(kind: Arrival['k']): string | undefined {
    for (let i = this.arrivals.length - 1; i >= 0; i--)
      if (this.arrivals[i]?.k === kind) return this.arrivals[i]?.s;
    return undefined;
  }

  /** Polls `fn` every 50 ms until it is true or `timeoutMs` passed. */
  async waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (await fn()) return true;
      await sleep(50);
    }
    return fn();
  }

  /** Sends a signal to a node's agent (SIGKILL, SIGSTOP, SIGCONT, SIGTERM). */
  signalAgent(node: string, sig: NodeJS.Signals): void {
    if (this.vrrp) {
      this.note('fault', `${sig} keepalived on ${node}`);
      this.vrrp.signal(node, sig);
      return;
    }
    const p = this.agents.get(node);
    if (!p) throw new Error(`no agent on ${node}`);
    this.note('fault', `${sig} agent on ${node}`);
    this.procs.signal(p, sig);
  }

  /** The condition `type` of a node's EgressTunnel status (e.g. `GatewayPeers`), as the API server has it. */
  async tunnelCondition(
    node: string,
    type: string,
  ): Promise<{ status: string; reason: string; message?: string } | undefined> {
    const t = await this.api.get<{
      status?: { conditions?: Array<{ type: string; status: string; reason: string; message?: string }> };
    }>(paths.tunnel(node));
    return t.status?.conditions?.find((c) => c.type === type);
  }

  /** True when a node has the IPv4 EIP (IPv6-only cluster: the IPv6 one) on its LAN interface (a kernel fact, not the status). */
  eipBoundOn(node: string): boolean {
    // An IPv6-only cluster has only the IPv6 EIP.
    const [family, address] = this.ipv4 ? ['-4', `${this.plan.eip4}/32`] : ['-6', `${this.plan.eip6}/128`];
    return ipn(this.node(node).ns, '-o', family, 'addr', 'show', 'dev', 'eth0').includes(` ${address} `);
  }

  /** Sets a node's LAN link down or up (its end in the node namespace). */
  setLanLink(node: string, up: boolean): void {
    this.note('fault', `${node} LAN link ${up ? 'up' : 'down'}`);
    const ns = this.node(node).ns;
    ipn(ns, 'link', 'set', 'eth0', up ? 'up' : 'down');
    if (up) {
      // Link down deletes the routes through it; the connected ones return with the link, the
      // default routes do not (on a real node DHCP or networkd puts them back). Without a
      // default route, loose rp_filter on the tunnel drops every pod packet (no route to its source).
      ipn(ns, 'route', 'replace', 'default', 'via', this.plan.lanGateway4, 'dev', 'eth0', 'onlink');
      ipn(ns, '-6', 'route', 'replace', 'default', 'via', this.plan.lanGateway6, 'dev', 'eth0', 'onlink');
      this.vrrp?.restoreRoutes(node);
    }
  }

  /**
   * Takes a node off the network: its API path, then its LAN, in one `ip -batch` (microseconds
   * apart), as a dead node loses both at once. Two `ip` processes left a few milliseconds between
   * them, in which the agent saw its LAN go down and wrote its draining mark through the API path
   * still up: a planned handover, not a node death.
   */
  setNodeDown(node: string): void {
    this.note('fault', `${node} LAN link and API path down`);
    run('ip', ['-n', this.node(node).ns, '-batch', '-'], 'link set mgmt0 down\nlink set eth0 down\n');
  }

  /** Cuts (or heals) a node's path to the API server while its LAN stays up. */
  setApiPartition(node: string, cut: boolean): void {
    this.note('fault', `${node} ${cut ? 'cut off from' : 'reconnected to'} the API server`);
    ipn(this.node(node).ns, 'link', 'set', 'mgmt0', cut ? 'down' : 'up');
  }

  /**
   * Cuts (or heals) the LAN between `node` and each of `peers`, both directions, for IP traffic
   * (the gateway peers' UDP, pings): an nftables table in `node`'s namespace drops packets to and
   * from the peers' LAN addresses. ARP and everyone else (workers, the external server) still pass.
   */
  setPeerCut(node: string, peers: readonly string[], cut: boolean): void {
    this.note('fault', `${node} ${cut ? 'cut off from' : 'reconnected to'} ${peers.join(', ')} on the LAN`);
    nsExec(this.node(node).ns, 'nft', ['-f', '-'], peerCutScript(cut ? peers.map((p) => this.node(p)) : []));
  }

  /** Whether the cluster uses IPv6 (the policy shape's `ipv6`, default true). */
  get ipv6(): boolean {
    return this.options.policy?.ipv6 !== false;
  }

  /** Whether the cluster uses IPv4 (the policy shape's `ipv4`, default true). */
  get ipv4(): boolean {
    return this.options.policy?.ipv4 !== false;
  }

  /** Whether `node` gets an answer to one ping of `address` within a second (a LAN reachability check). */
  pingable(node: string, address: string): boolean {
    const r = tryRun('ip', ['netns', 'exec', this.node(node).ns, 'ping', '-c', '1', '-W', '1', address]);
    // ping exits 1 when no answer came; anything else (255 from ip: no ping binary) is not an answer.
    if (r.status !== 0 && r.status !== 1)
      throw new Error(`ping in ${node} failed (${r.stderr.trim()}); install the Debian package iputils-ping`);
    return r.status === 0;
  }

  /** Restarts the API server (SIGKILL or SIGTERM), same data dir and port; resolves when ready again. */
  async restartApiServer(sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.apiServer;
    this.note('fault', `API server ${sig}, restart`);
    if (p) {
      this.procs.signal(p, sig);
      await p.exited;
    }
    await this.startApiServer();
    await this.waitFor(() => this.api.ready(), 30_000);
    this.note('fault', 'API server back');
  }

  /** Freezes the API server (SIGSTOP) for `ms`, then thaws it (SIGCONT): an outage with no data lost. */
  async freezeApiServer(ms: number): Promise<void> {
    const p = this.apiServer;
    if (!p) throw new Error('no API server is running');
    this.note('fault', `API server frozen for ${ms} ms`);
    this.procs.signal(p, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, ms));
    this.procs.signal(p, 'SIGCONT');
    this.note('fault', 'API server thawed');
  }

  /** Starts the node's agent again after a kill (or stops a frozen one first). */
  async restartAgent(node: string): Promise<void> {
    if (this.vrrp) {
      await this.vrrp.restart(node);
      this.note('fault', `keepalived on ${node} restarted`);
      return;
    }
    const p = this.agents.get(node);
    if (p?.alive()) {
      this.procs.signal(p, 'SIGKILL');
      await p.exited;
    }
    this.note('fault', `agent on ${node} restarted`);
    this.startAgent(node);
  }

  /**
   * Replaces every gateway's agent, one node at a time, as a DaemonSet rolling update with
   * `maxUnavailable: 1` does: SIGTERM (planned handover) and wait for the exit, start the new
   * agent (images mode: from a second tag of the agent image, the "new" version), and wait until
   * its tunnel is Ready with a heartbeat written after the start before the next node.
   */
  async rollingUpdate(): Promise<void> {
    if (this.images) {
      const next = `${this.images.agent}-rollout`;
      const r = spawnSync('podman', [...PODMAN_GLOBAL, 'tag', this.images.agent, next], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`podman tag ${next}: ${r.stderr.trim()}`);
      this.agentImage = next;
    }
    for (const n of this.plan.nodes.filter((x) => x.role === 'gateway')) {
      const old = this.agents.get(n.name);
      this.note('fault', `rolling update: replacing the agent on ${n.name}`);
      if (old?.alive()) {
        this.procs.signal(old, 'SIGTERM');
        await old.exited;
      }
      const startedAt = Date.now();
      this.startAgent(n.name);
      const ready = await this.waitFor(async () => {
        try {
          const t = await this.api.get<{ status?: { phase?: string; lastHeartbeatTime?: string } }>(
            paths.tunnel(n.name),
          );
          const beat = Date.parse(t.status?.lastHeartbeatTime ?? '');
          return t.status?.phase === 'Ready' && beat > startedAt;
        } catch {
          return false;
        }
      }, 30_000);
      if (!ready) throw new Error(`rolling update: the new agent on ${n.name} did not become Ready in 30 s`);
      this.note('fault', `rolling update: ${n.name} Ready`);
    }
  }

  /** Tears everything down: processes, namespaces (the run folder stays). Safe to call twice. */
  async teardown(): Promise<void> {
    this.polling = false;
    this.forward?.close();
    this.teardownSync();
  }

  /** Synchronous cleanup (used from `exit` handlers). */
  teardownSync(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    this.polling = false;
    process.removeListener('exit', this.exitHandler);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
      process.removeListener(sig, this.signalHandler);
    this.procs.killAll();
    const left = destroyNamespaces([...namespacesOf(this.plan).filter((n) => this.namespaces.includes(n))]);
    this.namespaces.splice(0);
    if (left.length > 0) process.stderr.write(`netns-lab: could not delete: ${left.join('; ')}\n`);
  }
}

/** The lab's own nftables table for LAN cuts (never one the agent uses). */
export const PEER_CUT_TABLE = 'egwlab_cut';

/**
 * The `nft -f -` script that makes a node's LAN cut from `peers` exactly what it is: it replaces
 * the lab's table (an empty list heals the cut; the table is then removed). Pure, for tests.
 */
export function peerCutScript(peers: readonly Pick<NodePlan, 'lan4' | 'lan6'>[]): string {
  // `add` then `delete` removes the table whether or not it existed.
  const lines = [`add table inet ${PEER_CUT_TABLE}`, `delete table inet ${PEER_CUT_TABLE}`];
  if (peers.length === 0) return `${lines.join('\n')}\n`;
  const v4 = peers.map((p) => p.lan4).join(', ');
  const v6 = peers.map((p) => p.lan6).join(', ');
  lines.push(
    `table inet ${PEER_CUT_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    ip saddr { ${v4} } drop`,
    `    ip6 saddr { ${v6} } drop`,
    '  }',
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    `    ip daddr { ${v4} } drop`,
    `    ip6 daddr { ${v6} } drop`,
    '  }',
    '}',
  );
  return `${lines.join('\n')}\n`;
}
