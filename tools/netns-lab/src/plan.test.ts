import { describe, expect, it } from 'vitest';
import { namespacesOf, nodeByMac, PlanError, planLab, uniquePrefix } from './plan.js';

const inTestRanges = (a: string): boolean => /^198\.1[89]\./.test(a) || /^fd00:/.test(a);

describe('planLab', () => {
  it('names nodes, namespaces and addresses for 3 gateways and 1 worker', () => {
    const p = planLab({ prefix: 'egl-t', gateways: 3, workers: 1 });
    expect(p.nodes.map((n) => [n.name, n.role, n.ns, n.lan4])).toEqual([
      ['gw1', 'gateway', 'egl-t-gw1', '198.18.0.11'],
      ['gw2', 'gateway', 'egl-t-gw2', '198.18.0.12'],
      ['gw3', 'gateway', 'egl-t-gw3', '198.18.0.13'],
      ['wk1', 'worker', 'egl-t-wk1', '198.18.0.31'],
    ]);
    expect(p.pods).toHaveLength(1);
    expect(p.pods[0]).toMatchObject({
      node: 'wk1',
      ip4: '198.19.1.2',
      gw4: '198.19.1.1',
      ip6: 'fd00:19:1::2',
    });
  });

  it('uses only the documentation/test ranges 198.18.0.0/15 and fd00::/8', () => {
    const p = planLab({ prefix: 'egl-t', gateways: 9, workers: 9, podsPerWorker: 3 });
    const all = [
      p.ext4,
      p.ext6,
      p.eip4,
      p.eip6,
      p.api4,
      ...p.nodes.flatMap((n) => [n.lan4, n.lan6, n.mgmt4]),
      ...p.pods.flatMap((x) => [x.ip4, x.ip6, x.gw4, x.gw6]),
    ];
    expect(all.filter((a) => !inTestRanges(a))).toEqual([]);
  });

  it('gives every node a distinct address and MAC, and every namespace a distinct name', () => {
    const p = planLab({ prefix: 'egl-t', gateways: 9, workers: 9, podsPerWorker: 2 });
    const uniq = (xs: string[]) => new Set(xs).size === xs.length;
    expect(uniq(p.nodes.map((n) => n.lan4))).toBe(true);
    expect(uniq(p.nodes.map((n) => n.mac))).toBe(true);
    expect(uniq(p.pods.map((x) => x.ip4))).toBe(true);
    expect(uniq(namespacesOf(p))).toBe(true);
    expect(namespacesOf(p).every((n) => n.startsWith('egl-t-'))).toBe(true);
  });

  it('keeps pod subnets out of the tunnel range and the LAN', () => {
    const p = planLab({ prefix: 'egl-t', gateways: 2, workers: 9 });
    for (const x of p.pods) {
      expect(x.ip4.startsWith('198.19.255.')).toBe(false);
      expect(x.ip4.startsWith('198.18.')).toBe(false);
    }
  });

  it('finds a node by the MAC an ARP answer came from', () => {
    const p = planLab({ prefix: 'egl-t', gateways: 3, workers: 1 });
    expect(nodeByMac(p, '02:00:00:00:00:0C')?.name).toBe('gw2');
    expect(nodeByMac(p, '02:00:00:00:01:00')).toBeUndefined();
  });

  it('rejects sizes outside 1-9 and bad prefixes with PlanError', () => {
    expect(() => planLab({ prefix: 'egl-t', gateways: 0, workers: 1 })).toThrow(PlanError);
    expect(() => planLab({ prefix: 'egl-t', gateways: 1, workers: 10 })).toThrow(/workers/);
    expect(() => planLab({ prefix: 'Bad Prefix', gateways: 1, workers: 1 })).toThrow(/prefix/);
  });

  it('makes short unique prefixes', () => {
    const seq = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    let i = 0;
    expect(uniquePrefix(() => seq[i++ % seq.length] as number)).toBe('egl-37aeil');
    expect(uniquePrefix()).toMatch(/^egl-[a-z0-9]{6}$/);
  });
});
