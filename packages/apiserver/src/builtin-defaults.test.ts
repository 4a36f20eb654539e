import { describe, expect, it } from 'vitest';
import { applyBuiltinDefaults } from './builtin-defaults.js';
import { ApiError } from './errors.js';
import { strategicMergePatch } from './patch.js';
import { BUILTIN_RESOURCES, type ResourceInfo } from './resources.js';
import type { KubeObject } from './types.js';

const info = (group: string, resource: string): ResourceInfo => {
  const i = BUILTIN_RESOURCES.find((r) => r.group === group && r.resource === resource);
  if (!i) throw new Error(`no ${group}/${resource}`);
  return i;
};
const ctx = (existing?: KubeObject, used: string[] = []) => ({
  existing,
  usedClusterIps: () => new Set(used),
});
const obj = (o: object) => structuredClone(o) as unknown as KubeObject;

describe('built-in defaults', () => {
  it('Secret: stringData goes into base64 data (and wins), type defaults to Opaque, bad base64 is 400', () => {
    const s = applyBuiltinDefaults(
      info('', 'secrets'),
      obj({ metadata: { name: 's' }, data: { a: 'eA==' }, stringData: { a: 'y', b: 'z' } }),
      ctx(),
    ) as unknown as Record<string, unknown>;
    expect(s).toEqual({ metadata: { name: 's' }, data: { a: 'eQ==', b: 'eg==' }, type: 'Opaque' });
    const bad = () =>
      applyBuiltinDefaults(
        info('', 'secrets'),
        obj({ metadata: { name: 's' }, data: { a: 'not base64!' } }),
        ctx(),
      );
    expect(bad).toThrow(/illegal base64 data in data\.a/);
    expect(() => bad()).toThrow(ApiError);
  });

  it('Secret: the type cannot change', () => {
    const before = obj({ metadata: { name: 's' }, type: 'Opaque' });
    expect(() =>
      applyBuiltinDefaults(
        info('', 'secrets'),
        obj({ metadata: { name: 's' }, type: 'kubernetes.io/tls' }),
        ctx(before),
      ),
    ).toThrow(/field is immutable/);
  });

  it('Service: a free cluster IP at create, the same one on update, ports get TCP and their target port', () => {
    const created = applyBuiltinDefaults(
      info('', 'services'),
      obj({ metadata: { name: 'svc' }, spec: { ports: [{ name: 'm', port: 5820 }] } }),
      ctx(undefined, ['198.18.240.10']),
    ) as unknown as { spec: Record<string, any> };
    expect(created.spec.clusterIP).toBe('198.18.240.11');
    expect(created.spec.clusterIPs).toEqual(['198.18.240.11']);
    expect(created.spec.type).toBe('ClusterIP');
    expect(created.spec.ports).toEqual([{ name: 'm', port: 5820, protocol: 'TCP', targetPort: 5820 }]);
    const updated = applyBuiltinDefaults(
      info('', 'services'),
      obj({ metadata: { name: 'svc' }, spec: { ports: [{ port: 1 }] } }),
      ctx(created as unknown as KubeObject),
    ) as unknown as { spec: Record<string, any> };
    expect(updated.spec.clusterIP).toBe('198.18.240.11');
    expect(() =>
      applyBuiltinDefaults(
        info('', 'services'),
        obj({ metadata: { name: 'svc' }, spec: { clusterIP: '198.18.240.99' } }),
        ctx(created as unknown as KubeObject),
      ),
    ).toThrow(/field is immutable/);
    const headless = applyBuiltinDefaults(
      info('', 'services'),
      obj({ metadata: { name: 'h' }, spec: { clusterIP: 'None' } }),
      ctx(),
    ) as unknown as { spec: Record<string, any> };
    expect(headless.spec.clusterIPs).toEqual(['None']);
  });

  it('Deployment and DaemonSet: the strategy, history and container defaults a real server fills in', () => {
    const d = applyBuiltinDefaults(
      info('apps', 'deployments'),
      obj({
        metadata: { name: 'd' },
        spec: { template: { spec: { containers: [{ name: 'c', image: 'x:1' }] } } },
      }),
      ctx(),
    ) as unknown as { spec: Record<string, any> };
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy.type).toBe('RollingUpdate');
    expect(d.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    const ds = applyBuiltinDefaults(
      info('apps', 'daemonsets'),
      obj({
        metadata: { name: 'ds' },
        spec: { template: { spec: { containers: [{ name: 'c', image: 'x' }] } } },
      }),
      ctx(),
    ) as unknown as { spec: Record<string, any> };
    expect(ds.spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(1);
    expect(ds.spec.template.spec.containers[0].imagePullPolicy).toBe('Always');
  });
});

describe('strategic merge patch of ports', () => {
  it('merges container ports by containerPort and Service ports by port', () => {
    const container = { ports: [{ containerPort: 80, name: 'a' }, { containerPort: 81 }] };
    expect(strategicMergePatch(container, { ports: [{ containerPort: 81, name: 'b' }] })).toEqual({
      ports: [
        { containerPort: 80, name: 'a' },
        { containerPort: 81, name: 'b' },
      ],
    });
    const service = {
      ports: [
        { port: 80, name: 'a' },
        { port: 81, name: 'x' },
      ],
    };
    expect(strategicMergePatch(service, { ports: [{ port: 81, name: 'b' }] })).toEqual({
      ports: [
        { port: 80, name: 'a' },
        { port: 81, name: 'b' },
      ],
    });
  });
});
