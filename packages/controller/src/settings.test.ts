import { fileURLToPath } from 'node:url';
import { APP_CONFIG_KEYS, loadAppSettings, resolveConfig } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './main.js';
import { CONTROLLER_OPTIONS, leaderElectionLease, timingWarnings } from './settings.js';

// Upstream v0.6.9's conf.yml as `helm template` renders its default values (kube's test fixture).
const UPSTREAM_CONF = fileURLToPath(new URL('../../kube/test/fixtures/upstream-conf.yml', import.meta.url));
const load = (env: Record<string, string>, args: string[] = []) =>
  loadAppSettings({
    name: 'egw-controller',
    description: 'test',
    options: CONTROLLER_OPTIONS,
    argv: ['node', 'egw-controller', ...args],
    env,
  });

describe('controller settings', () => {
  it('lists every config-file key in the keys both apps accept from their shared ConfigMap', () => {
    const keys = Object.values(CONTROLLER_OPTIONS).map((o) => o.key);
    expect(keys.filter((k) => !APP_CONFIG_KEYS.includes(k))).toEqual([]);
  });

  it('defaults to update 1 s, eviction 3 s, monitor 5 s with deadline detection, and no warnings', () => {
    const s = resolveConfig(CONTROLLER_OPTIONS, {});
    expect([s.tunnelUpdatePeriodMs, s.eipEvictionTimeoutMs, s.tunnelMonitorPeriodMs, s.detection]).toEqual([
      1000,
      3000,
      5000,
      'deadline',
    ]);
    expect(timingWarnings(s)).toEqual([]);
  });

  it("warns about the seed's 5/5/5 with the numbers, and the upstream rule in poll mode", () => {
    const s = resolveConfig(CONTROLLER_OPTIONS, {
      file: { tunnelMonitorPeriod: 5, tunnelUpdatePeriod: 5, eipEvictionTimeout: 5, detection: 'poll' },
    });
    const w = timingWarnings(s);
    expect(w.map((x) => x.code)).toContain('EvictionNotAboveUpdate');
    expect(w.map((x) => x.code)).toContain('EvictionNotAboveMonitorPlusUpdate');
    expect(w.find((x) => x.code === 'EvictionNotAboveUpdate')?.message).toContain('eipEvictionTimeout (5s)');
  });

  it('reads Helm value names from flags and env, fractional seconds allowed', () => {
    const flags = buildProgram()
      .exitOverride()
      .parse(['--eip-eviction-timeout', '1.5', '--tunnel-update-period', '0.25'], { from: 'user' })
      .opts();
    const s = resolveConfig(CONTROLLER_OPTIONS, { flags, env: { EGW_TUNNEL_MONITOR_PERIOD: '2' } });
    expect([s.eipEvictionTimeoutMs, s.tunnelUpdatePeriodMs, s.tunnelMonitorPeriodMs]).toEqual([
      1500, 250, 2000,
    ]);
  });

  it("runs from upstream's chart as it is: its conf.yml and its env", () => {
    // The env upstream's deployment.yaml sets (values: debug.*, healthServer.port, prometheus on).
    const { settings: s, warnings } = load({
      CONFIGMAP_PATH: UPSTREAM_CONF,
      LEADER_ELECTION: 'true',
      LOG_LEVEL: 'info',
      LOG_USE_DEV_MODE: 'false',
      LOG_WITH_CALLER: 'true',
      LOG_ENCODER: 'json',
      METRICS_BIND_ADDRESS: ':5821',
      GOPS_PORT: '5824',
      PYROSCOPE_SERVER_ADDR: '',
      WEBHOOK_PORT: '5822',
      HEALTH_PROBE_BIND_ADDRESS: ':5820',
      POD_NAME: 'egressgateway-controller-7d9f-abcde',
      POD_NAMESPACE: 'kube-system',
    });
    expect(s).toMatchObject({
      tunnelMonitorPeriodMs: 5000,
      tunnelUpdatePeriodMs: 5000,
      eipEvictionTimeoutMs: 15_000,
      tunnelIpv4Cidr: '172.31.0.0/16',
      tunnelIpv6Cidr: '',
      logLevel: 'info',
      logFormat: 'json',
      healthAddress: ':5820',
      metricsAddress: ':5821',
      identity: 'egressgateway-controller-7d9f-abcde',
      detection: 'deadline',
    });
    expect(leaderElectionLease(s)).toEqual({
      namespace: 'kube-system',
      name: 'egressgateway',
      namespaceFrom: 'pod',
    });
    // 5/5/15 is also sound for deadline detection.
    expect(timingWarnings(s)).toEqual([]);
    expect(warnings.map((w) => w.message)).toEqual(['upstream settings accepted but not applied']);
    // upstream's chart default gatewayFailover.enable: false selects node-ready mode.
    expect(s.gatewayFailover).toBe(false);
  });

  it.each([
    // [case, env, flags, expected Lease]
    [
      'upstream default: Lease egressgateway in the pod namespace',
      { POD_NAMESPACE: 'egw' },
      [],
      ['egw', 'egressgateway', 'pod'],
    ],
    ['no namespace known: the fallback, to be logged', {}, [], ['kube-system', 'egressgateway', 'fallback']],
    [
      "upstream's LEADER_ELECTION_NAMESPACE / _ID",
      { POD_NAMESPACE: 'egw', LEADER_ELECTION_NAMESPACE: 'ops', LEADER_ELECTION_ID: 'x' },
      [],
      ['ops', 'x', 'setting'],
    ],
    [
      'our env wins over upstream env',
      {
        LEADER_ELECTION_NAMESPACE: 'ops',
        EGW_LEADER_ELECTION_NAMESPACE: 'ours',
        LEADER_ELECTION_ID: 'x',
        EGW_LEADER_ELECTION_NAME: 'y',
      },
      [],
      ['ours', 'y', 'setting'],
    ],
    [
      'a flag wins over both',
      { EGW_LEADER_ELECTION_NAMESPACE: 'ours' },
      ['--leader-election-namespace', 'flag'],
      ['flag', 'egressgateway', 'setting'],
    ],
  ])('lease: %s', (_, env, args, [namespace, name, namespaceFrom]) => {
    expect(leaderElectionLease(load(env as Record<string, string>, args as string[]).settings)).toEqual({
      namespace,
      name,
      namespaceFrom,
    });
  });
});
