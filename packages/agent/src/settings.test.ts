import { fileURLToPath } from 'node:url';
import { APP_CONFIG_KEYS, loadAppSettings, resolveConfig } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { peerTiming } from './peer-setup.js';
import { AGENT_OPTIONS } from './settings.js';

// Upstream v0.6.9's conf.yml as `helm template` renders its default values, and a values file
// with the tree under feature: (kube's test fixtures).
const fixture = (name: string) => fileURLToPath(new URL(`../../kube/test/fixtures/${name}`, import.meta.url));
const load = (env: Record<string, string>, args: string[] = []) =>
  loadAppSettings({
    name: 'egw-agent',
    description: 'test',
    options: AGENT_OPTIONS,
    argv: ['node', 'egw-agent', ...args],
    env,
  });

describe('agent settings', () => {
  it('lists every config-file key in the keys both apps accept from their shared ConfigMap', () => {
    const keys = Object.values(AGENT_OPTIONS).map((o) => o.key);
    expect(keys.filter((k) => !APP_CONFIG_KEYS.includes(k))).toEqual([]);
  });

  it('the default peer timing passes the protocol checks with the default eviction timeout and margin, and the lab timing', () => {
    const s = resolveConfig(AGENT_OPTIONS, {});
    expect([s.peerAdvertPeriodMs, s.peerDeadIntervalMs, s.peerLeaseMs]).toEqual([25, 175, 125]);
    expect(() => peerTiming(s)).not.toThrow();
    // The netns lab's fast timing (update 0.5 s, eviction 2 s, margin 0.5 s) with the peer defaults.
    const fast = { ...s, tunnelUpdatePeriodMs: 500, eipEvictionTimeoutMs: 2000, fenceMarginMs: 500 };
    expect(() => peerTiming(fast)).not.toThrow();
  });

  it("reads a shared file that also holds the controller's keys, and still refuses unknown ones", () => {
    const file = { fenceMargin: 0.25, leaderElectionLeaseDuration: 15, tunnelUpdatePeriod: 0.5 };
    const s = resolveConfig(AGENT_OPTIONS, { file, otherAppsKeys: APP_CONFIG_KEYS });
    expect(s.fenceMarginMs).toBe(250);
    expect(s.tunnelUpdatePeriodMs).toBe(500);
    expect(() =>
      resolveConfig(AGENT_OPTIONS, { file: { fenceMargn: 1 }, otherAppsKeys: APP_CONFIG_KEYS }),
    ).toThrow('fenceMargn');
  });

  it("runs from upstream's chart as it is: its conf.yml and its env", () => {
    // The env upstream's daemonset.yaml sets.
    const { settings: s, warnings } = load({
      CONFIGMAP_PATH: fixture('upstream-conf.yml'),
      LOG_LEVEL: 'debug',
      LOG_USE_DEV_MODE: 'false',
      LOG_WITH_CALLER: 'true',
      LOG_ENCODER: 'console',
      HEALTH_PROBE_BIND_ADDRESS: ':5810',
      GOPS_PORT: '5812',
      POD_NAME: 'egressgateway-agent-x2x9q',
      POD_NAMESPACE: 'egressgateway',
      NODE_NAME: 'node1',
    });
    expect(s).toMatchObject({
      nodeName: 'node1',
      tunnelUpdatePeriodMs: 5000,
      eipEvictionTimeoutMs: 15_000,
      tunnelIpv4Cidr: '172.31.0.0/16',
      tunnelIpv6Cidr: '',
      tunnelDevice: 'egress.vxlan',
      tunnelPort: 7789,
      tunnelVni: 100,
      logLevel: 'debug',
      logFormat: 'pretty',
      healthAddress: ':5810',
      fenceMarginMs: 500,
      // The heartbeat Lease's namespace (and the peer key's) is the pod's.
      podNamespace: 'egressgateway',
      peerKeyNamespace: 'egressgateway',
    });
    expect(s.egressInterface).toBeUndefined();
    expect(s.metricsAddress).toBeUndefined();
    // One line: the upstream keys without effect (gatewayFailover.enable is the controller's, applied there).
    expect(warnings.map((w) => w.message)).toEqual(['upstream settings accepted but not applied']);
  });

  it('reads a values file: interface=<name>, failover on, IPv6 on, our fenceMargin beside upstream keys', () => {
    const { settings: s, warnings } = load({ NODE_NAME: 'node1' }, [
      '--config',
      fixture('upstream-values.yml'),
    ]);
    expect(s).toMatchObject({
      egressInterface: 'eth1',
      tunnelUpdatePeriodMs: 2000,
      eipEvictionTimeoutMs: 6000,
      tunnelIpv6Cidr: 'fd11::/112',
      fenceMarginMs: 500,
    });
    expect(warnings.map((w) => w.message)).toEqual(['upstream settings accepted but not applied']);
  });
});
