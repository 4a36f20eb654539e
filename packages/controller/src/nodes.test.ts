import { createEgressReconciler, type EgressState, type NodeLike } from '@egressgateway/failover';
import { arbCluster } from '@egressgateway/failover/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeView, nodeViewChanged } from './nodes.js';

/** A Node as a kubelet writes it: more conditions, addresses and fields than anyone here reads. */
function kubeletNode(name: string, opts: { ready?: string; ip?: string; beat?: string } = {}) {
  const beat = opts.beat ?? '2026-11-26T06:00:00Z';
  return {
    metadata: {
      name,
      labels: { egress: 'true', 'kubernetes.io/os': 'linux' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      resourceVersion: '7',
    },
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: beat },
        { type: 'Ready', status: opts.ready ?? 'True', lastHeartbeatTime: beat },
      ],
      addresses: [
        { type: 'InternalIP', address: opts.ip ?? '192.0.2.10' },
        { type: 'Hostname', address: name },
      ],
      images: [{ names: ['registry.example/pause:3.9'], sizeBytes: 300_000 }],
    },
  };
}

describe('nodeView', () => {
  it('keeps name, labels, resourceVersion, the Ready condition and InternalIPs only', () => {
    expect(nodeView(kubeletNode('n1'))).toEqual({
      metadata: {
        name: 'n1',
        labels: { egress: 'true', 'kubernetes.io/os': 'linux' },
        resourceVersion: '7',
      },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '192.0.2.10' }],
      },
    });
    expect(nodeView({ metadata: { name: 'bare' } })).toEqual({ metadata: { name: 'bare' } });
  });

  it('calls a kubelet status refresh unchanged, and a Ready flip, a label or an address changed', () => {
    const a = nodeView(kubeletNode('n1'));
    expect(nodeViewChanged(a, nodeView(kubeletNode('n1', { beat: '2026-11-26T06:05:00Z' })))).toBe(false);
    expect(nodeViewChanged(a, nodeView(kubeletNode('n1', { ready: 'Unknown' })))).toBe(true);
    expect(nodeViewChanged(a, nodeView(kubeletNode('n1', { ip: '192.0.2.11' })))).toBe(true);
    const relabelled = kubeletNode('n1');
    relabelled.metadata.labels = { egress: 'false', 'kubernetes.io/os': 'linux' };
    expect(nodeViewChanged(a, nodeView(relabelled))).toBe(true);
  });

  // What the view drops must never matter to the engine: a Node replaced by one with the same view
  // gives the same decisions (so the informer may keep the old object).
  it('keeps spec.podCIDRs (EgressClusterInfo k8s mode) and calls a podCIDRs change a change', () => {
    const a = nodeView({ metadata: { name: 'n' }, spec: { podCIDRs: ['198.18.64.0/24'] } });
    expect(a.spec).toEqual({ podCIDRs: ['198.18.64.0/24'] });
    const b = nodeView({ metadata: { name: 'n' }, spec: { podCIDRs: ['198.18.64.0/24', 'fd00:64::/64'] } });
    expect(nodeViewChanged(a, b)).toBe(true);
    expect(
      nodeViewChanged(a, nodeView({ metadata: { name: 'n' }, spec: { podCIDRs: ['198.18.64.0/24'] } })),
    ).toBe(false);
    expect(nodeView({ metadata: { name: 'n' }, spec: { podCIDRs: [] } }).spec).toBeUndefined();
  });

  it('property: nodes whose views are unchanged give the failover engine the same result', () => {
    // Edits a kubelet makes all the time (conditions, other addresses, annotations, a second Ready
    // condition after the first), and now and then one that matters (labels, Ready, InternalIP).
    const arbEdit = fc.record({
      node: fc.nat(),
      conditionFirst: fc.boolean(),
      extraCondition: fc.boolean(),
      laterReady: fc.option(fc.constantFrom('True', 'False'), { nil: undefined }),
      otherAddressFirst: fc.boolean(),
      annotate: fc.boolean(),
      matters: fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom('label', 'ready', 'ip') },
      ),
    });
    fc.assert(
      fc.property(arbCluster({ maxPolicies: 8 }), arbEdit, (c, e) => {
        const nodes = c.state.nodes as NodeLike[];
        const i = e.node % nodes.length;
        const before = nodes[i] as NodeLike;
        const labels = { ...before.metadata?.labels };
        const conditions = [...(before.status?.conditions ?? [])];
        const addresses = [...(before.status?.addresses ?? [])];
        const pressure = { type: 'DiskPressure', status: 'False' };
        if (e.extraCondition) e.conditionFirst ? conditions.unshift(pressure) : conditions.push(pressure);
        if (e.laterReady !== undefined) conditions.push({ type: 'Ready', status: e.laterReady });
        const external = { type: 'ExternalIP', address: '203.0.113.7' };
        e.otherAddressFirst ? addresses.unshift(external) : addresses.push(external);
        if (e.matters === 'label') labels.egress = labels.egress === 'true' ? 'false' : 'true';
        if (e.matters === 'ready') conditions.unshift({ type: 'Ready', status: 'Unknown' });
        if (e.matters === 'ip') addresses.unshift({ type: 'InternalIP', address: '192.0.2.250' });
        const metadata = {
          ...before.metadata,
          labels,
          ...(e.annotate ? { annotations: { 'example.com/touched': 'yes' } } : {}),
        };
        const after: NodeLike = { metadata, status: { conditions, addresses } };
        fc.pre(!nodeViewChanged(nodeView(before), nodeView(after)));
        const config = { evictionTimeoutMs: c.evictionTimeoutMs };
        const edited: EgressState = { ...c.state, nodes: nodes.map((n, k) => (k === i ? after : n)) };
        expect(createEgressReconciler()(edited, config, c.nowMs)).toEqual(
          createEgressReconciler()(c.state, config, c.nowMs),
        );
      }),
    );
  });
});
