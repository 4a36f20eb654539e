import type { EgressTunnel } from '@egressgateway/crds';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TunnelAllocator } from './allocator.js';
import { affectsTunnelPlan, planTunnels } from './tunnels.js';

const cidrs = { ipv4: '198.19.255.0/24', ipv6: 'fd00:ff::/64' };
type Status = NonNullable<EgressTunnel['status']>;

function tunnel(name: string, status: Status | undefined): EgressTunnel {
  return { metadata: { name }, spec: {}, ...(status ? { status } : {}) } as EgressTunnel;
}
const allocated: Status = {
  mark: '0x26000042',
  phase: 'Ready',
  lastHeartbeatTime: '2026-01-01T00:00:00.000Z',
  tunnel: {
    mac: '66:00:00:00:00:01',
    ipv4: '198.19.255.9',
    ipv6: 'fd00:ff::9',
    parent: { name: 'eth0', ipv4: '198.18.0.1' },
  },
};

const engineOwned = (t: EgressTunnel) => !['Pending', 'Init', undefined].includes(t.status?.phase);

describe('affectsTunnelPlan', () => {
  it('is false for a heartbeat and for the engine moving a phase it owns', () => {
    const a = tunnel('n1', allocated);
    expect(
      affectsTunnelPlan(a, tunnel('n1', { ...allocated, lastHeartbeatTime: '2026-01-01T00:00:05.000Z' })),
    ).toBe(false);
    expect(affectsTunnelPlan(a, tunnel('n1', { ...allocated, phase: 'HeartbeatTimeout' }))).toBe(false);
    expect(affectsTunnelPlan(tunnel('n1', { ...allocated, phase: 'HeartbeatTimeout' }), a)).toBe(false);
  });

  it('is true when the allocation, the parent or an early phase changes', () => {
    const a = tunnel('n1', allocated);
    expect(affectsTunnelPlan(a, tunnel('n1', { ...allocated, mark: '0x26000043' }))).toBe(true);
    const { parent: _parent, ...noParent } = allocated.tunnel ?? {};
    expect(affectsTunnelPlan(tunnel('n1', { ...allocated, phase: 'Pending', tunnel: noParent }), a)).toBe(
      true,
    );
    expect(affectsTunnelPlan(a, tunnel('n1', { ...allocated, phase: 'Init' }))).toBe(true);
    expect(affectsTunnelPlan(tunnel('n1', undefined), a)).toBe(true);
  });

  // An allocation write carries the tunnel's phase through unchanged when the engine owns it, so the
  // plans are compared with that pass-through phase masked.
  it('property: an update it calls irrelevant leaves the planned actions unchanged (but for a passed-through phase)', () => {
    const phase = fc.constantFrom(undefined, 'Pending', 'Init', 'Ready', 'HeartbeatTimeout', 'Failed');
    const status = fc.record(
      {
        mark: fc.constantFrom('0x26000042', '0x26000043'),
        phase,
        lastHeartbeatTime: fc.constantFrom('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:05.000Z'),
        tunnel: fc.record(
          {
            mac: fc.constantFrom('66:00:00:00:00:01', '66:00:00:00:00:02'),
            ipv4: fc.constantFrom('198.19.255.9', '198.19.255.10'),
            parent: fc.record({ name: fc.constantFrom('eth0', 'eth1') }),
          },
          { requiredKeys: ['mac', 'ipv4'] },
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(status, status, (sa, sb) => {
        const a = tunnel('n1', sa as Status);
        const b = tunnel('n1', sb as Status);
        fc.pre(!affectsTunnelPlan(a, b));
        const plan = (t: EgressTunnel) =>
          planTunnels(['n1', 'n2'], [t], new TunnelAllocator(cidrs)).map((act) =>
            act.type === 'allocate' && act.status.phase === t.status?.phase && engineOwned(t)
              ? { ...act, status: { ...act.status, phase: 'engine' } }
              : act,
          );
        expect(plan(b)).toEqual(plan(a));
      }),
    );
  });
});
