import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  addOptions,
  ConfigError,
  loadConfigFile,
  option,
  parsers,
  readConfigFile,
  resolveConfig,
} from './config.js';

const specs = {
  updateMs: option({
    key: 'tunnelUpdatePeriod',
    flag: '--tunnel-update-period',
    env: 'EGW_TUNNEL_UPDATE_PERIOD',
    description: 'heartbeat period, seconds',
    parse: parsers.secondsToMs,
    default: 1000,
  }),
  logLevel: option({
    key: 'logLevel',
    flag: '--log-level',
    env: 'EGW_LOG_LEVEL',
    description: 'log level',
    parse: parsers.oneOf(['debug', 'info', 'warn'] as const),
    default: 'info' as const,
  }),
};

const parseFlags = (argv: string[]) =>
  addOptions(new Command().exitOverride(), specs).parse(argv, { from: 'user' }).opts();

describe('resolveConfig', () => {
  it('takes flag over env over file over default, and parses fractional seconds', () => {
    const file = { tunnelUpdatePeriod: 2, logLevel: 'warn' };
    expect(resolveConfig(specs, {})).toEqual({ updateMs: 1000, logLevel: 'info' });
    expect(resolveConfig(specs, { file })).toEqual({ updateMs: 2000, logLevel: 'warn' });
    expect(resolveConfig(specs, { file, env: { EGW_TUNNEL_UPDATE_PERIOD: '0.25' } }).updateMs).toBe(250);
    expect(
      resolveConfig(specs, {
        file,
        env: { EGW_TUNNEL_UPDATE_PERIOD: '0.25' },
        flags: parseFlags(['--tunnel-update-period', '0.5']),
      }).updateMs,
    ).toBe(500);
  });

  it('names the setting and the source of a bad value', () => {
    expect(() => resolveConfig(specs, { env: { EGW_TUNNEL_UPDATE_PERIOD: 'soon' } })).toThrow(
      'tunnelUpdatePeriod (from env EGW_TUNNEL_UPDATE_PERIOD): "soon" is not a positive number of seconds',
    );
    expect(() => resolveConfig(specs, { flags: parseFlags(['--log-level', 'loud']) })).toThrow(
      'logLevel (from --log-level): "loud" is not one of debug, info, warn',
    );
  });

  it('reports unknown keys in the file, so typos are not silently ignored', () => {
    try {
      resolveConfig(specs, { file: { tunnelUpdatePeriode: 1 }, fileName: 'egw.yaml' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toContain('tunnelUpdatePeriode (from egw.yaml): unknown setting');
    }
  });

  it('reads a YAML file with a Helm-style feature section', () => {
    const dir = mkdtempSync(join(tmpdir(), 'egw-config-'));
    const path = join(dir, 'c.yaml');
    writeFileSync(path, 'feature:\n  tunnelUpdatePeriod: 0.5\nlogLevel: debug\n');
    expect(resolveConfig(specs, { file: readConfigFile(path) })).toEqual({
      updateMs: 500,
      logLevel: 'debug',
    });
    writeFileSync(path, '- a\n- b\n');
    expect(() => readConfigFile(path)).toThrow('must be a YAML mapping');
    expect(() => readConfigFile(join(dir, 'missing.yaml'))).toThrow('cannot read the file');
  });
});

// Upstream's chart renders its ConfigMap `conf.yml` from the values' `feature` tree; these are
// the v0.6.9 defaults, written out as `helm template` prints them.
const UPSTREAM_CONF_YML = `enableIPv4: true
enableIPv6: false
datapathMode: "iptables"
tunnelIpv4Subnet: "172.31.0.0/16"
tunnelIpv6Subnet: "fd11::/112"
tunnelDetectMethod: "defaultRouteInterface"
tunnelDetectCustomInterface: []
enableGatewayReplyRoute: false
gatewayReplyRouteTable: 600
gatewayReplyRouteMark: 39
iptables:
  backendMode: "auto"
vxlan:
  name: "egress.vxlan"
  port: 7789
  id: 100
  disableChecksumOffload: false
clusterCIDR:
  autoDetect:
    podCidrMode: "auto"
    clusterIP: true
    nodeIP: true
  extraCidr: []
maxNumberEndpointPerSlice: 100
announcedInterfacesToExclude:
  - "^cali.*"
  - "br-*"
gatewayFailover:
  enable: true
  tunnelMonitorPeriod: 5
  tunnelUpdatePeriod: 5
  eipEvictionTimeout: 15
`;

describe("upstream's config file", () => {
  const write = (text: string) => {
    const path = join(mkdtempSync(join(tmpdir(), 'egw-config-')), 'conf.yml');
    writeFileSync(path, text);
    return path;
  };

  it('maps every upstream key with an equivalent and names the others once', () => {
    const f = loadConfigFile(write(UPSTREAM_CONF_YML));
    expect(f.values).toEqual({
      tunnelIpv4Cidr: '172.31.0.0/16',
      // enableIPv6: false turns the IPv6 tunnel off, whatever tunnelIpv6Subnet says
      tunnelIpv6Cidr: '',
      tunnelDevice: 'egress.vxlan',
      tunnelPort: 7789,
      tunnelVni: 100,
      tunnelMonitorPeriod: 5,
      tunnelUpdatePeriod: 5,
      eipEvictionTimeout: 15,
    });
    expect(f.notApplied.map((n) => n.key).sort()).toEqual([
      'announcedInterfacesToExclude',
      'clusterCIDR.autoDetect',
      'clusterCIDR.extraCidr',
      'datapathMode',
      'enableGatewayReplyRoute',
      'gatewayReplyRouteMark',
      'gatewayReplyRouteTable',
      'iptables.backendMode',
      'maxNumberEndpointPerSlice',
      'tunnelDetectCustomInterface',
      'tunnelDetectMethod',
      'vxlan.disableChecksumOffload',
    ]);
    expect(f.notApplied.every((n) => n.reason.length > 0)).toBe(true);
  });

  it('reads the same tree under feature: (a values file), and our own keys win over upstream ones', () => {
    const nested = `feature:\n${UPSTREAM_CONF_YML.replace(/^/gm, '  ')}\ntunnelUpdatePeriod: 0.5\n`;
    const f = loadConfigFile(write(nested));
    expect(f.values.tunnelUpdatePeriod).toBe(0.5);
    expect(f.values.eipEvictionTimeout).toBe(15);
    expect(resolveConfig(specs, { file: f.values, otherAppsKeys: Object.keys(f.values) }).updateMs).toBe(500);
  });

  it('says when failover or IPv4 is switched off upstream-style, and keeps the IPv6 tunnel when enableIPv6 is on', () => {
    const f = loadConfigFile(
      write(
        'enableIPv4: false\nenableIPv6: true\ntunnelIpv6Subnet: fd00:ff::/112\ngatewayFailover:\n  enable: false\n',
      ),
    );
    expect(f.values).toEqual({ tunnelIpv6Cidr: 'fd00:ff::/112' });
    expect(f.notApplied).toEqual([
      { key: 'enableIPv4', reason: 'IPv4 is always on here' },
      { key: 'gatewayFailover.enable', reason: 'heartbeat failover is always on here' },
    ]);
  });

  it('ignores keys only another app reads, and still refuses a key nobody knows (typos)', () => {
    const file = { tunnelUpdatePeriod: 1, fenceMargin: 0.5 };
    expect(resolveConfig(specs, { file, otherAppsKeys: ['fenceMargin'] }).updateMs).toBe(1000);
    expect(() => resolveConfig(specs, { file, otherAppsKeys: [] })).toThrow('fenceMargin');
    const typo = loadConfigFile(write('gatewayFailover:\n  tunnelUpdatePeriode: 1\n'));
    expect(() => resolveConfig(specs, { file: typo.values, fileName: 'conf.yml' })).toThrow(
      'gatewayFailover.tunnelUpdatePeriode (from conf.yml): unknown setting',
    );
  });
});
