/**
 * Issue 19: one pool reading for everyone. For random pools (single addresses, ranges, CIDRs with
 * host bits, overlapping and repeated entries, both families), the admission validators
 * (`@egressgateway/crds`), `computeIpUsage` and the failover engine's allocation and
 * `status.ipUsage` must agree on which addresses a pool holds and how many. The controller is the
 * package that runs all three, so the agreement is checked here. Expected values come from a naive
 * model of upstream v0.6.9's reading (expand, IPv4 CIDR up to /30 without network and broadcast,
 * union), never from `@egressgateway/netaddr` itself.
 */
import {
  computeIpUsage,
  type EgressGateway,
  type EgressPolicy,
  validateAcrossObjects,
  validateResource,
} from '@egressgateway/crds';
import { type EgressChanges, reconcileEgress } from '@egressgateway/failover';
import { makeGateway, makeNode, makePolicy, makeTunnel } from '@egressgateway/failover/testing';
import { formatIp } from '@egressgateway/netaddr';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Family = 4 | 6;
type Gen =
  | { kind: 'ip'; v: bigint }
  | { kind: 'range'; a: bigint; b: bigint }
  | { kind: 'cidr'; v: bigint; prefix: number };

const BASE = { 4: 0xc6120000n, 6: 0xfdn << 120n } as const; // 198.18.0.0, fd00::
const BITS = { 4: 32, 6: 128 } as const;
const NOW = 100_000;

const genEntry = (f: Family): fc.Arbitrary<Gen> =>
  fc.oneof(
    fc.bigInt({ min: 1n, max: 40n }).map((v): Gen => ({ kind: 'ip', v })),
    fc
      .tuple(fc.bigInt({ min: 1n, max: 40n }), fc.bigInt({ min: 0n, max: 6n }))
      .map(([a, n]): Gen => ({ kind: 'range', a, b: a + n })),
    fc
      .tuple(fc.bigInt({ min: 1n, max: 40n }), fc.integer({ min: BITS[f] - 4, max: BITS[f] }))
      .map(([v, prefix]): Gen => ({ kind: 'cidr', v, prefix })),
  );

const ipOf = (f: Family, x: bigint) => formatIp(f, BASE[f] + x);

function render(f: Family, e: Gen): string {
  if (e.kind === 'ip') return ipOf(f, e.v);
  if (e.kind === 'range') return `${ipOf(f, e.a)}-${ipOf(f, e.b)}`;
  return `${ipOf(f, e.v)}/${e.prefix}`;
}

/** Upstream's reading, naively: the pool's addresses (set, first-listed order). */
function model(f: Family, entries: readonly Gen[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    let xs: bigint[] = [];
    if (e.kind === 'ip') xs = [e.v];
    else if (e.kind === 'range') for (let x = e.a; x <= e.b; x++) xs.push(x);
    else {
      const span = 2n ** BigInt(BITS[f] - e.prefix);
      const net = (e.v / span) * span;
      for (let x = net; x < net + span; x++) xs.push(x);
      if (f === 4 && e.prefix <= 30) xs = xs.slice(1, -1);
    }
    for (const x of xs) out.push(ipOf(f, x));
  }
  return [...new Set(out)];
}

/** The IPv6 network addresses (subnet-router anycast) of CIDR entries up to /126: the engine skips them. */
function anycast(entries: readonly Gen[], pool: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const e of entries) {
    if (e.kind !== 'cidr' || e.prefix > 126) continue;
    const span = 2n ** BigInt(128 - e.prefix);
    const a = ipOf(6, (e.v / span) * span);
    if (pool.includes(a)) out.add(a);
  }
  return out;
}

const crdGateway = (ipv4: string[], ipv6: string[]): EgressGateway => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressGateway',
  metadata: { name: 'gw' },
  spec: { ippools: { ipv4, ipv6 }, nodeSelector: { selector: { matchLabels: { egress: 'true' } } } },
});

const crdPolicy = (egressIP: { ipv4?: string; ipv6?: string }): EgressPolicy => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressPolicy',
  metadata: { name: 'p', namespace: 'ns' },
  spec: { egressGatewayName: 'gw', egressIP, appliedTo: { podSelector: { matchLabels: { app: 'p' } } } },
});

function engine(ipv4: string[], ipv6: string[], policies: ReturnType<typeof makePolicy>[]): EgressChanges {
  return reconcileEgress(
    {
      gateways: [makeGateway('gw', { ipv4, ipv6 })],
      nodes: [makeNode('n1'), makeNode('n2')],
      tunnels: [makeTunnel('n1', NOW - 500), makeTunnel('n2', NOW - 500)],
      policies,
      clusterPolicies: [],
    },
    { evictionTimeoutMs: 3_000 },
    NOW,
  );
}

const placed = (r: EgressChanges, f: Family) =>
  r.gateways.flatMap((g) =>
    g.nodeList.flatMap((n) => (n.eips ?? []).map((e) => (f === 4 ? e.ipv4 : e.ipv6))),
  );

const pools = fc.record({
  v4: fc.array(genEntry(4), { maxLength: 5 }),
  v6: fc.array(genEntry(6), { maxLength: 5 }),
  dual: fc.constantFrom<'v4' | 'v6' | 'both'>('v4', 'v6', 'both'),
  probe: fc.bigInt({ min: 0n, max: 50n }),
});

describe('pool agreement: validators, computeIpUsage and the failover engine (issue 19)', () => {
  it('agree on size, membership and the dual-stack verdict for random pools of both families', () => {
    fc.assert(
      fc.property(pools, ({ v4, v6, dual, probe }) => {
        const g4 = dual === 'v6' ? [] : v4;
        const g6 = dual === 'v4' ? [] : v6;
        const e4 = g4.map((e) => render(4, e));
        const e6 = g6.map((e) => render(6, e));
        const m4 = model(4, g4);
        const m6 = model(6, g6);

        // Sizes: computeIpUsage, the engine's status.ipUsage and the model.
        const usage = computeIpUsage({ ipv4: e4, ipv6: e6 }, { ipv4: [], ipv6: [] });
        expect([usage.ipv4Total, usage.ipv6Total]).toEqual([m4.length, m6.length]);
        const rr = Array.from({ length: Math.max(m4.length, m6.length) + 2 }, (_, i) =>
          makePolicy('ns', `p${i}`, { gateway: 'gw', allocatorPolicy: 'rr' }),
        );
        const r = engine(e4, e6, rr);
        const total = m4.length + m6.length;
        if (total > 0) {
          expect(r.gateways[0]?.ipUsage).toMatchObject({ ipv4Total: m4.length, ipv6Total: m6.length });
        }

        // Dual-stack verdict: admission refuses unequal sizes exactly when the engine warns.
        const v = validateResource(crdGateway(e4, e6));
        const mismatch = m4.length > 0 && m6.length > 0 && m4.length !== m6.length;
        const sizeErrors = v.ok ? [] : v.errors.filter((e) => e.path === 'spec.ippools');
        expect(sizeErrors.length > 0).toBe(mismatch);
        expect(v.ok).toBe(!mismatch); // every generated entry is valid: no other refusal
        expect(r.problems.some((p) => p.reason === 'PoolSizeMismatch')).toBe(mismatch);

        // Allocation: every handed-out address is in the model pool, and ipUsage free agrees.
        const p4 = new Set(placed(r, 4).filter((a) => a !== ''));
        const p6 = new Set(placed(r, 6).filter((a) => a !== ''));
        for (const a of p4) expect(m4).toContain(a);
        for (const a of p6) expect(m6).toContain(a);
        if (dual !== 'both') {
          // Single stack: rr hands out every usable address (IPv6 CIDR anycast addresses are skipped).
          const usable = dual === 'v4' ? m4.length : m6.length - anycast(g6, m6).size;
          expect(dual === 'v4' ? p4.size : p6.size).toBe(usable);
        }
        const after = computeIpUsage({ ipv4: e4, ipv6: e6 }, { ipv4: [...p4], ipv6: [...p6] });
        if (total > 0) {
          expect(r.gateways[0]?.ipUsage).toEqual(after);
        }

        // Membership of one address: admission's default EIP and explicit EIP checks, computeIpUsage
        // and the engine's explicit EIP resolution give the model's answer.
        for (const f of [4, 6] as const) {
          const m = f === 4 ? m4 : m6;
          if (m.length === 0 || mismatch) continue;
          const address = ipOf(f, probe);
          const inPool = m.includes(address);
          const field = f === 4 ? 'ipv4' : 'ipv6';
          const gw = crdGateway(e4, e6);
          (gw.spec?.ippools as Record<string, unknown>)[`${field}DefaultEIP`] = address;
          const def = validateResource(gw);
          expect(def.ok ? [] : def.errors.map((e) => e.path)).toEqual(
            inPool ? [] : [`spec.ippools.${field}DefaultEIP`],
          );
          const cross = validateAcrossObjects([crdGateway(e4, e6), crdPolicy({ [field]: address })]);
          expect(cross.length === 0).toBe(inPool);
          const used = computeIpUsage(
            { ipv4: e4, ipv6: e6 },
            { ipv4: f === 4 ? [address] : [], ipv6: f === 6 ? [address] : [] },
          );
          expect((f === 4 ? usage.ipv4Free - used.ipv4Free : usage.ipv6Free - used.ipv6Free) === 1).toBe(
            inPool,
          );
          const one = engine(e4, e6, [makePolicy('ns', 'p', { gateway: 'gw', [field]: address })]);
          expect(one.problems.some((p) => p.reason === 'EIPNotInPool')).toBe(!inPool);
        }
      }),
      { numRuns: 300 },
    );
  });
});
