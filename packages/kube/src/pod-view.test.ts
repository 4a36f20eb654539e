import { describe, expect, it } from 'vitest';
import { type PodView, podView, podViewChanged } from './pod-view.js';

describe('podView', () => {
  const full = {
    metadata: {
      name: 'web',
      namespace: 'default',
      labels: { app: 'web' },
      resourceVersion: '7',
      uid: 'u',
      annotations: { big: 'x'.repeat(100) },
    },
    spec: { nodeName: 'wk', containers: [{ name: 'c', image: 'x', env: [{ name: 'A', value: 'B' }] }] },
    status: {
      phase: 'Running',
      podIP: '198.19.1.2',
      podIPs: [{ ip: '198.19.1.2' }, { ip: 'fd00:19::2' }],
      containerStatuses: [{ name: 'c', ready: true, restartCount: 0 }],
    },
  };

  it('keeps what egress rules, endpoint slices and the informer read, nothing else', () => {
    expect(podView(full as PodView)).toEqual({
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, resourceVersion: '7' },
      spec: { nodeName: 'wk' },
      status: { phase: 'Running', podIP: '198.19.1.2', podIPs: [{ ip: '198.19.1.2' }, { ip: 'fd00:19::2' }] },
    });
  });

  it('an update matters only when labels, node, host network, addresses or phase change', () => {
    const a = podView(full as PodView);
    const restarted = podView({
      ...full,
      metadata: { ...full.metadata, resourceVersion: '8' },
      status: { ...full.status, containerStatuses: [{ name: 'c', ready: false, restartCount: 1 }] },
    } as PodView);
    expect(podViewChanged(a, restarted)).toBe(false);
    const relabelled = podView({ ...full, metadata: { ...full.metadata, labels: { app: 'db' } } } as PodView);
    expect(podViewChanged(a, relabelled)).toBe(true);
    const moved = podView({ ...full, spec: { ...full.spec, nodeName: 'gw1' } } as PodView);
    expect(podViewChanged(a, moved)).toBe(true);
    const readdressed = podView({
      ...full,
      status: { ...full.status, podIPs: [{ ip: '198.19.1.3' }] },
    } as PodView);
    expect(podViewChanged(a, readdressed)).toBe(true);
    const host = podView({ ...full, spec: { ...full.spec, hostNetwork: true } } as PodView);
    expect(podViewChanged(a, host)).toBe(true);
    const completed = podView({ ...full, status: { ...full.status, phase: 'Succeeded' } } as PodView);
    expect(podViewChanged(a, completed)).toBe(true);
  });
});
