import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, parsers, throwAll } from './config.js';

/**
 * Why an upstream key has no effect here: `no equivalent yet` (a feature this implementation
 * could have and does not) or `not applicable` (it belongs to a design we do not share, such as
 * the iptables datapath).
 */
export type NotAppliedKind = 'no equivalent yet' | 'not applicable';

/** How one key of upstream EgressGateway's `conf.yml` is read. */
export interface UpstreamKey {
  /** Our config key it sets. */
  to?: string;
  /**
   * Turns upstream's value into ours; throws a message on a bad value. `undefined` means
   * "leave our setting alone" (upstream's value asks for our default). Default: unchanged.
   */
  map?: (value: unknown) => unknown;
  /** The key has no effect here: the start-up warning names it with this kind and reason. */
  notApplied?: { kind: NotAppliedKind; why: string };
  /**
   * Values that ask for what this implementation does anyway (a switch left off, an empty
   * list): accepted without a warning. `tree` is the whole upstream tree.
   */
  inert?: (value: unknown, tree: Record<string, unknown>) => boolean;
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const isFalse = (v: unknown) => v === false || v === 'false';
const isEmptyList = (v: unknown) => v === null || (Array.isArray(v) && v.length === 0);
const nftablesOnly = { kind: 'not applicable', why: 'the datapath is nftables only' } as const;
const clusterInfo = {
  kind: 'not applicable',
  why: "upstream's chart renders it into EgressClusterInfo/default; neither upstream's apps nor ours read it",
} as const;

/**
 * Every key of upstream's `conf.yml` (v0.6.9: its chart's `feature` values, read by its
 * `pkg/config`), as a dotted path, and how we read it. The switches `enableIPv4`, `enableIPv6`
 * and `gatewayFailover.enable` are read by {@link mapConfigDocument} itself (they combine with
 * other keys).
 */
export const UPSTREAM_CONFIG: Readonly<Record<string, UpstreamKey>> = {
  'gatewayFailover.tunnelMonitorPeriod': { to: 'tunnelMonitorPeriod' },
  'gatewayFailover.tunnelUpdatePeriod': { to: 'tunnelUpdatePeriod' },
  'gatewayFailover.eipEvictionTimeout': { to: 'eipEvictionTimeout' },
  tunnelIpv4Subnet: { to: 'tunnelIpv4Cidr' },
  tunnelIpv6Subnet: { to: 'tunnelIpv6Cidr' },
  'vxlan.name': { to: 'tunnelDevice' },
  'vxlan.port': { to: 'tunnelPort' },
  'vxlan.id': { to: 'tunnelVni' },
  'vxlan.disableChecksumOffload': {
    notApplied: { kind: 'no equivalent yet', why: 'the tunnel keeps the kernel checksum offload' },
    inert: isFalse,
  },
  tunnelDetectMethod: {
    to: 'egressInterface',
    map: (v) => {
      const s = String(v);
      if (s === 'defaultRouteInterface') return undefined;
      const m = /^interface=(.+)$/.exec(s);
      if (m?.[1]) return m[1];
      throw new Error(`"${s}" is not defaultRouteInterface or interface=<name>`);
    },
  },
  tunnelDetectCustomInterface: {
    notApplied: {
      kind: 'no equivalent yet',
      why: 'no per-node-selector interface: set the agent egressInterface (EGW_EGRESS_INTERFACE) per node group',
    },
    inert: isEmptyList,
  },
  announcedInterfacesToExclude: {
    notApplied: { kind: 'no equivalent yet', why: 'no interface exclusion list for EIP announcements' },
    inert: isEmptyList,
  },
  enableGatewayReplyRoute: {
    notApplied: { kind: 'no equivalent yet', why: 'no reply route on gateway nodes' },
    inert: isFalse,
  },
  gatewayReplyRouteTable: {
    notApplied: { kind: 'no equivalent yet', why: 'no reply route on gateway nodes' },
    inert: (_, tree) => tree.enableGatewayReplyRoute !== true,
  },
  gatewayReplyRouteMark: {
    notApplied: { kind: 'no equivalent yet', why: 'no reply route on gateway nodes' },
    inert: (_, tree) => tree.enableGatewayReplyRoute !== true,
  },
  datapathMode: { notApplied: nftablesOnly },
  'iptables.backendMode': { notApplied: nftablesOnly },
  'iptables.refreshIntervalSecond': { notApplied: nftablesOnly },
  'iptables.postWriteIntervalSecond': { notApplied: nftablesOnly },
  'iptables.lockTimeoutSecond': { notApplied: nftablesOnly },
  'iptables.lockProbeIntervalMillis': { notApplied: nftablesOnly },
  'iptables.initialPostWriteIntervalSecond': { notApplied: nftablesOnly },
  'iptables.restoreSupportsLock': { notApplied: nftablesOnly },
  'iptables.lockFilePath': { notApplied: nftablesOnly },
  'clusterCIDR.autoDetect.podCidrMode': { notApplied: clusterInfo },
  'clusterCIDR.autoDetect.clusterIP': { notApplied: clusterInfo },
  'clusterCIDR.autoDetect.nodeIP': { notApplied: clusterInfo },
  'clusterCIDR.extraCidr': { notApplied: clusterInfo },
  maxNumberEndpointPerSlice: { to: 'maxNumberEndpointPerSlice' },
  mark: {
    notApplied: { kind: 'no equivalent yet', why: 'the mark range is fixed at 0x26000000' },
    inert: (v) => String(v).toLowerCase() === '0x26000000',
  },
};

/** Upstream's switches, read by {@link mapConfigDocument} itself. */
const SWITCHES = ['enableIPv4', 'enableIPv6', 'gatewayFailover.enable'] as const;

/**
 * Top-level sections of upstream's values file besides `feature`: chart settings that reach the
 * apps as flags and env, accepted (and named in the warning) when the file is a values file.
 */
const VALUES_SECTIONS = ['global', 'agent', 'controller', 'cleanup'];

/** Every key path of upstream's conf.yml, for typo suggestions. */
export const UPSTREAM_CONFIG_KEYS: readonly string[] = [...SWITCHES, ...Object.keys(UPSTREAM_CONFIG)];

/** One upstream key accepted without effect. */
export interface NotApplied {
  /** Dotted path as written under the `feature` tree, e.g. `iptables.backendMode`. */
  key: string;
  kind: NotAppliedKind;
  why: string;
}

/** A config file read into our keys. */
export interface ConfigFile {
  /** Values by our config keys (`tunnelUpdatePeriod`, `tunnelIpv4Cidr`, …), unparsed. */
  values: Record<string, unknown>;
  /** For values taken from an upstream key: our key -> the key as written (for error messages). */
  origins: Record<string, string>;
  /** Upstream keys accepted but without effect here, with the reason. */
  notApplied: NotApplied[];
  /**
   * `gatewayFailover.enable: false` was given: upstream's node-ready mode (tunnel phases from
   * Node Ready, no heartbeat timeout), read by the controller as its `gatewayFailover` setting.
   */
  gatewayFailoverOff: boolean;
}

/**
 * Maps a parsed config document to our keys. The document may be:
 * - our layout (`tunnelUpdatePeriod: 1`, `fenceMargin: 0.5`, …);
 * - upstream's `conf.yml`, which is its chart's `.Values.feature` tree
 *   (`gatewayFailover.eipEvictionTimeout`, `tunnelIpv4Subnet`, `vxlan.port`, …);
 * - a values file with that tree under `feature:` (other chart sections are accepted and named
 *   as not applied);
 * - any mix: our own settings sit beside upstream's keys, at the top level or under `feature:`.
 *
 * Rules: an upstream key with an equivalent sets our setting; our own key for the same setting
 * wins over it; a top-level key wins over the same key under `feature:`. `enableIPv4: false` /
 * `enableIPv6: false` turn the tunnel family off (our empty tunnel CIDR), whatever the subnet
 * says; both false is an error. Keys that are neither ours nor upstream's stay in `values`, for
 * {@link resolveConfig} to report with a suggestion. Pure.
 *
 * @throws ConfigError on a bad upstream value or both tunnel families off.
 */
export function mapConfigDocument(doc: Record<string, unknown>, fileName = 'config file'): ConfigFile {
  const errors: ConfigError[] = [];
  const values: Record<string, unknown> = {};
  const fromUpstream: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  const notApplied = new Map<string, NotApplied>();
  const switches: Record<string, boolean> = {};
  const isValuesFile = isMap(doc.feature);
  const feature = isValuesFile ? (doc.feature as Record<string, unknown>) : {};
  const top = Object.fromEntries(Object.entries(doc).filter(([k]) => k !== 'feature'));
  // The tree judged by `inert`: top-level keys override those under feature, leaf by leaf.
  const tree = { ...feature, ...top };
  const hasChildren = (path: string) => UPSTREAM_CONFIG_KEYS.some((u) => u.startsWith(`${path}.`));

  const visit = (prefix: string, obj: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      const spec = UPSTREAM_CONFIG[path];
      if ((SWITCHES as readonly string[]).includes(path)) {
        try {
          switches[path] = parsers.boolean(v);
        } catch (err) {
          errors.push(new ConfigError(path, fileName, (err as Error).message));
        }
      } else if (spec?.to !== undefined) {
        let mapped: unknown = v;
        try {
          mapped = spec.map ? spec.map(v) : v;
        } catch (err) {
          errors.push(new ConfigError(path, fileName, (err as Error).message));
          continue;
        }
        if (mapped === undefined) delete fromUpstream[spec.to];
        else fromUpstream[spec.to] = mapped;
        origins[spec.to] = path;
      } else if (spec?.notApplied) {
        if (spec.inert?.(v, tree)) notApplied.delete(path);
        else notApplied.set(path, { key: path, ...spec.notApplied });
      } else if (isMap(v) && hasChildren(path)) visit(path, v);
      else if (v === null && hasChildren(path))
        continue; // an empty section (`vxlan:`)
      else if (prefix === '' && isValuesFile && VALUES_SECTIONS.includes(k))
        notApplied.set(k, {
          key: k,
          kind: 'not applicable',
          why: 'chart values: the chart passes them to the apps as flags and env, the apps do not read them',
        });
      else values[path] = v;
    }
  };
  visit('', feature);
  visit('', top);

  // Upstream reads a tunnel subnet only when its family is on: the switch wins over the subnet.
  const familyOff = (sw: string, key: string) => {
    if (switches[sw] !== false) return;
    fromUpstream[key] = '';
    origins[key] = sw;
  };
  familyOff('enableIPv4', 'tunnelIpv4Cidr');
  familyOff('enableIPv6', 'tunnelIpv6Cidr');
  if (switches.enableIPv4 === false && switches.enableIPv6 === false)
    errors.push(
      new ConfigError(
        'enableIPv4, enableIPv6',
        fileName,
        'both are false, so tunnels would have no address family: set at least one to true',
      ),
    );
  throwAll(errors);
  // Our controller's `gatewayFailover` (false: node-ready mode, phases from Node Ready).
  if (switches['gatewayFailover.enable'] !== undefined) {
    fromUpstream.gatewayFailover = switches['gatewayFailover.enable'];
    origins.gatewayFailover = 'gatewayFailover.enable';
  }
  for (const k of Object.keys(values)) delete origins[k];
  return {
    values: { ...fromUpstream, ...values },
    origins,
    notApplied: [...notApplied.values()].sort((a, b) => a.key.localeCompare(b.key)),
    gatewayFailoverOff: switches['gatewayFailover.enable'] === false,
  };
}

/**
 * Reads a YAML config file in our layout or upstream's (see {@link mapConfigDocument}).
 *
 * @example
 * const file = loadConfigFile(process.env.CONFIGMAP_PATH ?? '/tmp/config-map/conf.yml');
 * const settings = resolveConfig(specs, { file: file.values, fileOrigins: file.origins, fileName: 'conf.yml' });
 */
export function loadConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('config', path, `cannot read the file: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('config', path, `not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined)
    return { values: {}, origins: {}, notApplied: [], gatewayFailoverOff: false };
  if (!isMap(doc)) throw new ConfigError('config', path, 'must be a YAML mapping');
  return mapConfigDocument(doc, path);
}

/** The values of {@link loadConfigFile}, for callers that do not report unapplied keys. */
export function readConfigFile(path: string): Record<string, unknown> {
  return loadConfigFile(path).values;
}
