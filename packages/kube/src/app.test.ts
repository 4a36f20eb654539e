import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  COMMON_OPTIONS,
  checkSharedSettings,
  healthAddressOption,
  loadAppSettings,
  metricsAddressOption,
  parseUpstreamLogEncoder,
  parseUpstreamLogLevel,
  SHARED_OPTIONS,
  separateMetricsAddress,
} from './app.js';

const UPSTREAM_CONF = fileURLToPath(new URL('../test/fixtures/upstream-conf.yml', import.meta.url));
const OPTIONS = {
  ...COMMON_OPTIONS,
  ...SHARED_OPTIONS,
  healthAddress: healthAddressOption('0.0.0.0:8788'),
  metricsAddress: metricsAddressOption(),
};
const dir = mkdtempSync(join(tmpdir(), 'egw-app-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const load = (args: string[], env: Record<string, string | undefined> = {}) =>
  loadAppSettings({
    name: 'egw-test',
    description: 'test',
    options: OPTIONS,
    argv: ['node', 'egw-test', ...args],
    env,
  });

describe('loadAppSettings', () => {
  it("finds upstream's conf.yml through CONFIGMAP_PATH and applies every mapped shared setting", () => {
    const r = load([], { CONFIGMAP_PATH: UPSTREAM_CONF });
    expect(r.configPath).toBe(UPSTREAM_CONF);
    expect(r.settings).toMatchObject({
      tunnelUpdatePeriodMs: 5000,
      eipEvictionTimeoutMs: 15_000,
      tunnelIpv4Cidr: '172.31.0.0/16',
      tunnelIpv6Cidr: '',
      healthAddress: '0.0.0.0:8788',
    });
  });

  it('logs one line naming every upstream key without effect (gatewayFailover.enable: false is applied)', () => {
    const { warnings } = load([], { CONFIGMAP_PATH: UPSTREAM_CONF });
    expect(warnings.map((w) => w.message)).toEqual(['upstream settings accepted but not applied']);
    const [notApplied] = warnings;
    expect(notApplied?.fields.keys).toEqual([
      'announcedInterfacesToExclude',
      'clusterCIDR.autoDetect.clusterIP',
      'clusterCIDR.autoDetect.nodeIP',
      'clusterCIDR.autoDetect.podCidrMode',
      'clusterCIDR.extraCidr',
      'datapathMode',
      'iptables.backendMode',
    ]);
    expect((notApplied?.fields.reasons as Record<string, string> | undefined)?.datapathMode).toBe(
      'not applicable: the datapath is nftables only',
    );
  });

  it('warns about nothing for a file in our own layout', () => {
    const path = write('ours.yml', 'tunnelUpdatePeriod: 0.5\neipEvictionTimeout: 2\n');
    const r = load(['--config', path]);
    expect(r.warnings).toEqual([]);
    expect([r.settings.tunnelUpdatePeriodMs, r.settings.eipEvictionTimeoutMs]).toEqual([500, 2000]);
  });

  it('takes the file from --config, then EGW_CONFIG, then CONFIGMAP_PATH', () => {
    const a = write('a.yml', 'eipEvictionTimeout: 4\n');
    const b = write('b.yml', 'eipEvictionTimeout: 5\n');
    const c = write('c.yml', 'eipEvictionTimeout: 6\n');
    expect(load(['--config', a], { EGW_CONFIG: b, CONFIGMAP_PATH: c }).settings.eipEvictionTimeoutMs).toBe(
      4000,
    );
    expect(load([], { EGW_CONFIG: b, CONFIGMAP_PATH: c }).settings.eipEvictionTimeoutMs).toBe(5000);
    expect(load([], { CONFIGMAP_PATH: c }).settings.eipEvictionTimeoutMs).toBe(6000);
    expect(load([], {}).configPath).toBeUndefined();
    expect(() => load([], { CONFIGMAP_PATH: join(dir, 'missing.yml') })).toThrow('cannot read the file');
  });

  it.each([
    // [setting, flag, our env, upstream env, file key + value, values in each case]
    [
      'logLevel',
      '--log-level',
      'EGW_LOG_LEVEL',
      'LOG_LEVEL',
      'logLevel: warn',
      ['error', 'debug', 'info', 'warn'],
    ],
    [
      'logFormat',
      '--log-format',
      'EGW_LOG_FORMAT',
      'LOG_ENCODER',
      'logFormat: json',
      ['pretty', 'json', 'pretty', 'json'],
    ],
    [
      'healthAddress',
      '--health-address',
      'EGW_HEALTH_ADDRESS',
      'HEALTH_PROBE_BIND_ADDRESS',
      'healthAddress: 127.0.0.1:1',
      ['127.0.0.1:4', '127.0.0.1:3', ':5820', '127.0.0.1:1'],
    ],
    [
      'metricsAddress',
      '--metrics-address',
      'EGW_METRICS_ADDRESS',
      'METRICS_BIND_ADDRESS',
      'metricsAddress: 127.0.0.1:1',
      ['127.0.0.1:4', '127.0.0.1:3', ':5821', '127.0.0.1:1'],
    ],
  ])(
    '%s: flag > our env > upstream env > file',
    (setting, flag, ours, upstream, fileLine, [f, o, u, file]) => {
      const path = write(`${setting}.yml`, `${fileLine}\n`);
      const upstreamRaw = {
        logLevel: 'INFO',
        logFormat: 'console',
        healthAddress: ':5820',
        metricsAddress: ':5821',
      }[setting as 'logLevel'];
      const env = { [ours]: o, [upstream]: upstreamRaw };
      const get = (args: string[], e: Record<string, string | undefined>) =>
        (load(['--config', path, ...args], e).settings as Record<string, unknown>)[setting];
      expect(get([flag, String(f)], env)).toBe(f);
      expect(get([], env)).toBe(o);
      expect(get([], { [upstream]: upstreamRaw })).toBe(u);
      expect(get([], {})).toBe(file);
    },
  );

  it('refuses an eviction timeout shorter than the heartbeat period, and accepts what upstream would refuse', () => {
    expect(() => load(['--tunnel-update-period', '2', '--eip-eviction-timeout', '1.5'])).toThrow(
      'eipEvictionTimeout (from settings): 1.5s is shorter than tunnelUpdatePeriod (2s), so every healthy node would lose its EIPs between two heartbeats: use at least 4.5s',
    );
    // Equal periods load (the seed's 5/5/5; the controller and agent warn about the margin).
    expect(
      load(['--tunnel-update-period', '5', '--eip-eviction-timeout', '5']).settings.eipEvictionTimeoutMs,
    ).toBe(5000);
    // Upstream refuses eipEvictionTimeout < update + monitor (3 < 1 + 5); detection here runs at
    // the deadline, so our defaults load.
    expect(load([]).settings.eipEvictionTimeoutMs).toBe(3000);
  });

  it('refuses settings that leave tunnels without an address family', () => {
    expect(() => load(['--tunnel-ipv4-cidr', '', '--tunnel-ipv6-cidr', ''])).toThrow(
      'tunnelIpv4Cidr, tunnelIpv6Cidr (from settings): both are empty',
    );
    expect(checkSharedSettings({ tunnelIpv4Cidr: '', tunnelIpv6Cidr: 'fd00::/112' })).toEqual([]);
  });
});

describe("upstream's env vocabularies", () => {
  it.each([
    ['info', 'info'],
    ['DEBUG', 'debug'],
    ['Warn', 'warn'],
    ['error', 'error'],
    ['dpanic', 'error'],
    ['fatal', 'error'],
    ['0', 'info'],
    ['1', 'debug'],
    ['-2', 'debug'],
  ])('LOG_LEVEL=%s is %s', (raw, level) => {
    expect(parseUpstreamLogLevel(raw)).toBe(level);
  });

  it('refuses what zap refuses, and reads LOG_ENCODER json|console', () => {
    expect(() => parseUpstreamLogLevel('loud')).toThrow('"loud" is not a log level');
    expect(parseUpstreamLogEncoder('console')).toBe('pretty');
    expect(parseUpstreamLogEncoder('json')).toBe('json');
    expect(() => parseUpstreamLogEncoder('text')).toThrow('"text" is not json or console');
  });

  it('starts a separate metrics server only for an address other than the health one', () => {
    expect(separateMetricsAddress({ healthAddress: ':5810' })).toBeUndefined();
    expect(separateMetricsAddress({ healthAddress: ':5810', metricsAddress: '0' })).toBeUndefined();
    expect(separateMetricsAddress({ healthAddress: ':5810', metricsAddress: ':5810' })).toBeUndefined();
    expect(separateMetricsAddress({ healthAddress: ':5810', metricsAddress: ':5811' })).toBe(':5811');
    expect(() => load(['--metrics-address', '5811'])).toThrow('metricsAddress (from --metrics-address)');
  });
});
