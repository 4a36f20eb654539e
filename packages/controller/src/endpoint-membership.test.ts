import { describe, expect, it } from 'vitest';
import { endpointOf, type PodView, PolicyMembership } from './endpoint-membership.js';

const pod = (
  name: string,
  labels: Record<string, string>,
  extra: { ns?: string; node?: string; ips?: string[]; phase?: string; hostNetwork?: boolean } = {},
): PodView => ({
  metadata: { name, namespace: extra.ns ?? 'default', labels },
  spec: { nodeName: extra.node ?? 'n1', ...(extra.hostNetwork ? { hostNetwork: true } : {}) },
  status: { podIPs: (extra.ips ?? ['198.18.1.1']).map((ip) => ({ ip })), phase: extra.phase ?? 'Running' },
});

describe('endpointOf', () => {
  it('splits addresses by family and sorts them; no endpoint for host-network, finished or address-less pods', () => {
    expect(endpointOf(pod('a', {}, { ips: ['fd00::2', '198.18.1.9', '198.18.1.10'] }))).toEqual({
      ns: 'default',
      pod: 'a',
      node: 'n1',
      ipv4: ['198.18.1.10', '198.18.1.9'],
      ipv6: ['fd00::2'],
    });
    expect(endpointOf(pod('a', {}, { hostNetwork: true }))).toBeUndefined();
    expect(endpointOf(pod('a', {}, { phase: 'Succeeded' }))).toBeUndefined();
    expect(endpointOf(pod('a', {}, { phase: 'Failed' }))).toBeUndefined();
    expect(endpointOf(pod('a', {}, { ips: [] }))).toBeUndefined();
  });
});

describe('PolicyMembership', () => {
  it('a namespaced policy selects matching pods of its namespace only', () => {
    const m = new PolicyMembership();
    m.setPolicy('default/p', { namespace: 'default', podSelector: { matchLabels: { app: 'web' } } });
    expect([...m.upsertPod(pod('a', { app: 'web' }))]).toEqual(['default/p']);
    expect([...m.upsertPod(pod('b', { app: 'web' }, { ns: 'other' }))]).toEqual([]);
    expect([...m.upsertPod(pod('c', { app: 'db' }))]).toEqual([]);
    expect([...m.members('default/p').keys()]).toEqual(['default/a']);
  });

  it('reports a change only when the endpoint changed: a relabel out, a new address, a deletion', () => {
    const m = new PolicyMembership();
    m.setPolicy('default/p', { namespace: 'default', podSelector: { matchLabels: { app: 'web' } } });
    m.upsertPod(pod('a', { app: 'web' }));
    expect(m.upsertPod(pod('a', { app: 'web', extra: 'x' })).size).toBe(0);
    expect(m.upsertPod(pod('a', { app: 'web' }, { ips: ['198.18.1.2'] })).size).toBe(1);
    expect(m.upsertPod(pod('a', { app: 'db' })).size).toBe(1);
    expect(m.members('default/p').size).toBe(0);
    m.upsertPod(pod('a', { app: 'web' }));
    expect([...m.deletePod('default', 'a')]).toEqual(['default/p']);
  });

  it('a cluster policy with a namespaceSelector follows namespace labels', () => {
    const m = new PolicyMembership();
    m.upsertPod(pod('a', { app: 'web' }, { ns: 'team1' }));
    m.setPolicy('c', {
      podSelector: { matchLabels: { app: 'web' } },
      namespaceSelector: { matchLabels: { egress: 'on' } },
    });
    expect(m.members('c').size).toBe(0);
    expect([...m.setNamespaceLabels('team1', { egress: 'on' })]).toEqual(['c']);
    expect([...m.members('c').keys()]).toEqual(['team1/a']);
    expect(m.setNamespaceLabels('team1', { egress: 'on' }).size).toBe(0);
    expect([...m.setNamespaceLabels('team1', {})]).toEqual(['c']);
  });

  it('a policy by podSubnet or with an invalid selector selects no pod', () => {
    const m = new PolicyMembership();
    m.upsertPod(pod('a', { app: 'web' }));
    m.setPolicy('default/subnet', { namespace: 'default' });
    m.setPolicy('default/bad', {
      namespace: 'default',
      podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] },
    });
    expect(m.members('default/subnet').size).toBe(0);
    expect(m.members('default/bad').size).toBe(0);
  });

  it('setPolicy reports whether the members changed', () => {
    const m = new PolicyMembership();
    m.upsertPod(pod('a', { app: 'web' }));
    const sel = { namespace: 'default', podSelector: { matchLabels: { app: 'web' } } };
    expect(m.setPolicy('default/p', sel)).toBe(true);
    expect(m.setPolicy('default/p', sel)).toBe(false);
    expect(m.setPolicy('default/p', { ...sel, podSelector: { matchLabels: { app: 'db' } } })).toBe(true);
  });
});
