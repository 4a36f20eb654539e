import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { APP_CONFIG_KEYS } from './app.js';
import { ConfigError, resolveConfig } from './config.js';
import { loadConfigFile, mapConfigDocument, UPSTREAM_CONFIG, UPSTREAM_CONFIG_KEYS } from './config-file.js';

// Upstream v0.6.9's ConfigMap conf.yml exactly as `helm template` renders its chart's default
// `.Values.feature` (toYaml: sorted keys), and a values file with that tree under `feature:`.
const fixture = (name: string) => fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url));
const UPSTREAM_CONF = fixture('upstream-conf.yml');
const UPSTREAM_VALUES = fixture('upstream-values.yml');

const dir = mkdtempSync(join(tmpdir(), 'egw-config-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const write = (text: string) => {
  const path = join(dir, `conf-${n++}.yml`);
  writeFileSync(path, text);
  return path;
};
const map = (yaml: string) => mapConfigDocument(parseYaml(yaml) as Record<string, unknown>, 'conf.yml');

/** Upstream keys of its default conf.yml that have no effect here, whatever the layout. */
const DEFAULT_NOT_APPLIED = [
  'announcedInterfacesToExclude',
  'clusterCIDR.autoDetect.clusterIP',
  'clusterCIDR.autoDetect.nodeIP',
  'clusterCIDR.autoDetect.podCidrMode',
  'clusterCIDR.extraCidr',
  'datapathMode',
  'iptables.backendMode',
];
/** Its default also has failover off (node-ready mode): applied (our gatewayFailover), not named. */
const DEFAULT_CONF_NOT_APPLIED = [...DEFAULT_NOT_APPLIED].sort((a, b) => a.localeCompare(b));

describe("upstream's conf.yml (helm template of its default values)", () => {
  const f = loadConfigFile(UPSTREAM_CONF);

  it.each([
    // [our key, value, upstream key it came from]
    ['tunnelMonitorPeriod', 5, 'gatewayFailover.tunnelMonitorPeriod'],
    ['tunnelUpdatePeriod', 5, 'gatewayFailover.tunnelUpdatePeriod'],
    ['eipEvictionTimeout', 15, 'gatewayFailover.eipEvictionTimeout'],
    ['tunnelIpv4Cidr', '172.31.0.0/16', 'tunnelIpv4Subnet'],
    // enableIPv6: false: upstream does not read tunnelIpv6Subnet (pkg/config LoadConfig); here
    // the switch empties our IPv6 tunnel range, which turns the IPv6 tunnel off.
    ['tunnelIpv6Cidr', '', 'enableIPv6'],
    ['tunnelDevice', 'egress.vxlan', 'vxlan.name'],
    ['tunnelPort', 7789, 'vxlan.port'],
    ['tunnelVni', 100, 'vxlan.id'],
    // enable: false is upstream's node-ready mode, our controller's gatewayFailover false.
    ['gatewayFailover', false, 'gatewayFailover.enable'],
    ['maxNumberEndpointPerSlice', 100, 'maxNumberEndpointPerSlice'],
  ])('maps to %s = %j (from %s)', (key, value, origin) => {
    expect(f.values[key]).toEqual(value);
    expect(f.origins[key]).toBe(origin);
  });

  it('maps nothing else (defaultRouteInterface leaves the egress interface to its default)', () => {
    expect(Object.keys(f.values).sort()).toEqual([
      'eipEvictionTimeout',
      'gatewayFailover',
      'maxNumberEndpointPerSlice',
      'tunnelDevice',
      'tunnelIpv4Cidr',
      'tunnelIpv6Cidr',
      'tunnelMonitorPeriod',
      'tunnelPort',
      'tunnelUpdatePeriod',
      'tunnelVni',
    ]);
  });

  it('names every key without effect once, with its kind and reason; inert values are not named', () => {
    expect(f.notApplied.map((x) => x.key)).toEqual(DEFAULT_CONF_NOT_APPLIED);
    expect(f.notApplied.find((x) => x.key === 'gatewayFailover.enable')).toBeUndefined();
    expect(f.notApplied.find((x) => x.key === 'datapathMode')).toEqual({
      key: 'datapathMode',
      kind: 'not applicable',
      why: 'the datapath is nftables only',
    });
    expect(f.notApplied.find((x) => x.key === 'announcedInterfacesToExclude')?.kind).toBe(
      'no equivalent yet',
    );
    // false/empty switches ask for what we do anyway: enableGatewayReplyRoute, its table and
    // mark, disableChecksumOffload, tunnelDetectCustomInterface: [].
    expect(f.gatewayFailoverOff).toBe(true);
    // upstream's chart default enable: false reaches our controller's gatewayFailover setting.
    expect(f.values.gatewayFailover).toBe(false);
    expect(f.origins.gatewayFailover).toBe('gatewayFailover.enable');
  });

  it('loads into settings with no unknown key', () => {
    const specs = {
      update: { key: 'tunnelUpdatePeriod', flag: '--u', env: 'U', description: '', parse: Number },
    };
    expect(
      resolveConfig(specs, { file: f.values, otherAppsKeys: APP_CONFIG_KEYS, fileName: UPSTREAM_CONF }),
    ).toEqual({ update: 5 });
  });
});

describe('a values file with the tree under feature:', () => {
  const f = loadConfigFile(UPSTREAM_VALUES);

  it('maps the same keys, reads interface=<name>, keeps our own settings beside them', () => {
    expect(f.values).toEqual({
      tunnelMonitorPeriod: 5,
      tunnelUpdatePeriod: 2,
      eipEvictionTimeout: 6,
      tunnelIpv4Cidr: '172.31.0.0/16',
      tunnelIpv6Cidr: 'fd11::/112',
      egressInterface: 'eth1',
      tunnelDevice: 'egress.vxlan',
      tunnelPort: 7789,
      tunnelVni: 100,
      fenceMargin: 0.5,
      detection: 'deadline',
      gatewayFailover: true,
      maxNumberEndpointPerSlice: 100,
    });
    expect(f.gatewayFailoverOff).toBe(false);
  });

  it("names the chart's own sections as not applied, beside the same feature keys", () => {
    expect(f.notApplied.map((x) => x.key)).toEqual(
      [...DEFAULT_NOT_APPLIED, 'agent', 'controller', 'global'].sort((a, b) => a.localeCompare(b)),
    );
    expect(f.notApplied.find((x) => x.key === 'agent')?.why).toContain('chart values');
  });
});

describe('each upstream key as upstream reads it (pkg/config/config.go, v0.6.9)', () => {
  it.each([
    ['enableIPv4: false: no IPv4 tunnel', 'enableIPv4: false\nenableIPv6: true\n', { tunnelIpv4Cidr: '' }],
    [
      'enableIPv6: true reads tunnelIpv6Subnet',
      'enableIPv6: true\ntunnelIpv6Subnet: fd00:1::/112\n',
      { tunnelIpv6Cidr: 'fd00:1::/112' },
    ],
    [
      'a switch that is absent keeps our default (the subnet is read)',
      'tunnelIpv6Subnet: fd00:1::/112\n',
      { tunnelIpv6Cidr: 'fd00:1::/112' },
    ],
    [
      'the switch wins over the subnet, in any order',
      'tunnelIpv4Subnet: 198.18.0.0/24\nenableIPv4: no\n',
      {
        tunnelIpv4Cidr: '',
      },
    ],
    [
      'tunnelDetectMethod interface=<name> is the agent egress interface',
      'tunnelDetectMethod: interface=bond0\n',
      {
        egressInterface: 'bond0',
      },
    ],
    [
      'gatewayFailover timings are seconds, as ours',
      'gatewayFailover:\n  eipEvictionTimeout: 2.5\n',
      {
        eipEvictionTimeout: 2.5,
      },
    ],
    [
      'our own key wins over the upstream key for the same setting',
      'tunnelUpdatePeriod: 1\ngatewayFailover:\n  tunnelUpdatePeriod: 5\n',
      {
        tunnelUpdatePeriod: 1,
      },
    ],
    [
      'a top-level key wins over the same key under feature:',
      'feature:\n  vxlan:\n    port: 1\nvxlan:\n  port: 4789\n',
      {
        tunnelPort: 4789,
      },
    ],
    ['an empty section is accepted', 'vxlan:\ngatewayFailover:\n', {}],
    ['the default mark is inert', 'mark: "0x26000000"\n', {}],
  ])('%s', (_, yaml, values) => {
    const f = map(yaml);
    expect(f.values).toEqual(values);
    expect(f.notApplied).toEqual([]);
  });

  it.each([
    ['enableGatewayReplyRoute: true\n', ['enableGatewayReplyRoute']],
    [
      'enableGatewayReplyRoute: true\ngatewayReplyRouteTable: 600\ngatewayReplyRouteMark: 39\n',
      ['enableGatewayReplyRoute', 'gatewayReplyRouteMark', 'gatewayReplyRouteTable'],
    ],
    ['vxlan:\n  disableChecksumOffload: true\n', ['vxlan.disableChecksumOffload']],
    [
      'tunnelDetectCustomInterface:\n- nodeSelector: {a: b}\n  interfaceName: eth2\n',
      ['tunnelDetectCustomInterface'],
    ],
    ['mark: "0x27000000"\n', ['mark']],
    [
      'iptables:\n  lockFilePath: /run/xtables.lock\n  refreshIntervalSecond: 90\n',
      ['iptables.lockFilePath', 'iptables.refreshIntervalSecond'],
    ],
  ])('names %j as not applied', (yaml, keys) => {
    expect(map(yaml).notApplied.map((x) => x.key)).toEqual(keys);
  });

  it.each([
    [
      'tunnelDetectMethod: auto\n',
      'tunnelDetectMethod (from conf.yml): "auto" is not defaultRouteInterface or interface=<name>',
    ],
    [
      'gatewayFailover:\n  enable: maybe\n',
      'gatewayFailover.enable (from conf.yml): "maybe" is not true or false',
    ],
    [
      'enableIPv4: false\nenableIPv6: false\n',
      'enableIPv4, enableIPv6 (from conf.yml): both are false, so tunnels would have no address family: set at least one to true',
    ],
  ])('refuses %j', (yaml, message) => {
    expect(() => map(yaml)).toThrow(ConfigError);
    expect(() => map(yaml)).toThrow(message);
  });

  it('leaves a key that is neither ours nor upstream to the resolver, which names it and the fix', () => {
    const f = loadConfigFile(write('gatewayFailover:\n  tunnelUpdatePeriode: 1\nvxlan:\n  nam: x\n'));
    expect(f.values).toEqual({ 'gatewayFailover.tunnelUpdatePeriode': 1, 'vxlan.nam': 'x' });
    const resolve = () =>
      resolveConfig(
        { u: { key: 'tunnelUpdatePeriod', flag: '--u', env: 'U', description: '', parse: Number } },
        {
          file: f.values,
          fileName: 'conf.yml',
          otherAppsKeys: APP_CONFIG_KEYS,
          suggest: UPSTREAM_CONFIG_KEYS,
        },
      );
    expect(resolve).toThrow(
      'gatewayFailover.tunnelUpdatePeriode (from conf.yml): unknown setting: did you mean gatewayFailover.tunnelUpdatePeriod? Fix the name or remove the key',
    );
    expect(resolve).toThrow('vxlan.nam (from conf.yml): unknown setting: did you mean vxlan.name?');
  });

  it('a top-level chart section outside a values file is an unknown key, not a chart section', () => {
    expect(map('agent:\n  debug: {}\n').values).toEqual({ agent: { debug: {} } });
  });

  it('maps every upstream key to one of our keys or gives a reason', () => {
    for (const [key, spec] of Object.entries(UPSTREAM_CONFIG)) {
      if (spec.to !== undefined) expect(APP_CONFIG_KEYS, key).toContain(spec.to);
      else expect(spec.notApplied?.why, key).toBeTruthy();
    }
  });
});
