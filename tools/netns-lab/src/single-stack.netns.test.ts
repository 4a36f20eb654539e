import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiCallError, paths } from './kube-api.js';
import { Lab } from './lab.js';
import { isRoot } from './preflight.js';
import { runScenario } from './scenario.js';
import { FAST_TIMING } from './settings.js';
import { listLabNamespaces } from './topology.js';

const skipReason = 'netns e2e tests need root (CAP_NET_ADMIN) to create network namespaces: skipped';
if (!isRoot()) console.warn(skipReason);

/**
 * Upstream's `enableIPv6: false` (its chart's default): here an empty IPv6 tunnel range for both
 * apps, as the apps read that switch from upstream's conf.yml. Tunnels, pools and policies are
 * IPv4 only, and admission refuses what would need IPv6.
 */
describe.skipIf(!isRoot())('netns lab, IPv4 only (enableIPv6 false; 3 gateways, 1 worker)', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await Lab.start({
      gateways: 3,
      workers: 1,
      controllers: 1,
      timing: FAST_TIMING,
      policy: { ipv6: false },
    });
  }, 240_000);

  afterAll(async () => {
    const prefix = lab?.plan.prefix;
    await lab?.teardown();
    if (prefix) expect(listLabNamespaces(prefix)).toEqual([]);
  });

  it('tunnels get IPv4 addresses only, the EIP carries the pod IPv4 traffic, and a gateway with an IPv6 pool is refused', async () => {
    const tunnels = await lab.api.get<{
      items: Array<{ status?: { tunnel?: { ipv4?: string; ipv6?: string } } }>;
    }>(paths.tunnels);
    expect(tunnels.items.length).toBe(lab.plan.nodes.length);
    for (const t of tunnels.items) {
      expect(t.status?.tunnel?.ipv4 ?? '').not.toBe('');
      expect(t.status?.tunnel?.ipv6 ?? '').toBe('');
    }
    expect(lab.lastSource('u4')).toBe(lab.plan.eip4);
    let refused: ApiCallError | undefined;
    try {
      await lab.api.create(paths.gateways, {
        apiVersion: 'egressgateway.spidernet.io/v1beta1',
        kind: 'EgressGateway',
        metadata: { name: 'dual' },
        spec: {
          ippools: { ipv4: ['198.18.0.60'], ipv6: ['fd00:18::60'] },
          nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
        },
      });
    } catch (err) {
      if (err instanceof ApiCallError) refused = err;
      else throw err;
    }
    expect(refused?.status).toBe(422);
    expect(refused?.message).toContain('spec.ippools.ipv6');
  });

  it('agent SIGKILL: the IPv4 EIP moves within eviction + 1 s, never two owners', async () => {
    const r = await runScenario(lab, 'agent-kill');
    expect(r.to).toBeDefined();
    expect(r.to).not.toBe(r.from);
    expect(r.gaps.u4?.ms ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(
      FAST_TIMING.eipEvictionTimeout * 1000 + 1000,
    );
    expect(r.sourcesAfter).toEqual([lab.plan.eip4]);
    expect(r.duplicates).toEqual([]);
  });
});

/** Upstream's `enableIPv4: false`: an empty IPv4 tunnel range, IPv6-only pools and policies. */
describe.skipIf(!isRoot())('netns lab, IPv6 only (enableIPv4 false; 3 gateways, 1 worker)', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await Lab.start({
      gateways: 3,
      workers: 1,
      controllers: 1,
      timing: FAST_TIMING,
      policy: { ipv4: false },
    });
  }, 240_000);

  afterAll(async () => {
    const prefix = lab?.plan.prefix;
    await lab?.teardown();
    if (prefix) expect(listLabNamespaces(prefix)).toEqual([]);
  });

  it('tunnels get IPv6 addresses only, the EIP carries the pod IPv6 traffic, and a gateway with an IPv4 pool is refused', async () => {
    const tunnels = await lab.api.get<{
      items: Array<{ status?: { tunnel?: { ipv4?: string; ipv6?: string } } }>;
    }>(paths.tunnels);
    for (const t of tunnels.items) {
      expect(t.status?.tunnel?.ipv4 ?? '').toBe('');
      expect(t.status?.tunnel?.ipv6 ?? '').not.toBe('');
    }
    expect(lab.lastSource('u6')).toBe(lab.plan.eip6);
    const refused = await lab.api
      .create(paths.gateways, {
        apiVersion: 'egressgateway.spidernet.io/v1beta1',
        kind: 'EgressGateway',
        metadata: { name: 'v4' },
        spec: {
          ippools: { ipv4: ['198.18.0.60'] },
          nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
        },
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(refused).toBeInstanceOf(ApiCallError);
    expect((refused as ApiCallError).status).toBe(422);
    expect((refused as ApiCallError).message).toContain('spec.ippools.ipv4');
  });

  it('agent SIGKILL: the IPv6 EIP moves to another node and the old one lets go by itself', async () => {
    const from = (await lab.holder()) as string;
    lab.signalAgent(from, 'SIGKILL');
    let to: string | undefined;
    expect(
      await lab.waitFor(
        async () => {
          to = await lab.holder();
          return to !== undefined && to !== from;
        },
        FAST_TIMING.eipEvictionTimeout * 1000 + 10_000,
      ),
    ).toBe(true);
    const since = Date.now();
    expect(
      await lab.waitFor(
        () => lab.arrivals.some((a) => a.t > since && a.k === 'u6' && a.s === lab.plan.eip6),
        10_000,
      ),
    ).toBe(true);
    // The new holder binds it (the pod's packets may leave with the EIP a moment before, by SNAT).
    expect(await lab.waitFor(() => lab.eipBoundOn(to as string), 5_000)).toBe(true);
    expect(lab.eipBoundOn(from)).toBe(false);
    await lab.restartAgent(from);
  });
});
