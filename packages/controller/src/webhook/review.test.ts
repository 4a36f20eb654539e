import type { EgressGateway, EgressPolicy } from '@egressgateway/crds';
import { arbEgressClusterPolicy, arbEgressGateway, arbEgressPolicy } from '@egressgateway/crds/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AdmissionRequest,
  type AdmissionView,
  type JsonPatchOp,
  mutateAdmission,
  validateAdmission,
} from './review.js';

const GV = 'egressgateway.spidernet.io/v1beta1';

const gw = (
  name: string,
  ipv4: string[],
  extra: Partial<NonNullable<EgressGateway['spec']>> = {},
): EgressGateway => ({
  apiVersion: GV,
  kind: 'EgressGateway',
  metadata: { name },
  spec: { ippools: { ipv4 }, nodeSelector: { selector: { matchLabels: { egress: 'true' } } }, ...extra },
});

const pol = (name: string, spec: Record<string, unknown>, kind = 'EgressPolicy'): EgressPolicy =>
  ({
    apiVersion: GV,
    kind,
    metadata: kind === 'EgressPolicy' ? { name, namespace: 'team' } : { name },
    spec: { appliedTo: { podSelector: { matchLabels: { app: 'web' } } }, ...spec },
  }) as EgressPolicy;

function view(
  gateways: EgressGateway[] = [],
  policies: EgressPolicy[] = [],
  labels: Record<string, Record<string, string>> = {},
): AdmissionView {
  return { gateways: () => gateways, policies: () => policies, namespaceLabels: (ns) => labels[ns] };
}

let uid = 0;
function req(
  operation: AdmissionRequest['operation'],
  object: unknown,
  oldObject?: unknown,
): AdmissionRequest {
  const o = (object ?? oldObject) as { kind: string; metadata?: { name?: string; namespace?: string } };
  return {
    uid: `uid-${++uid}`,
    kind: { group: 'egressgateway.spidernet.io', version: 'v1beta1', kind: o.kind },
    operation,
    ...(o.metadata?.name ? { name: o.metadata.name } : {}),
    ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
    ...(object === undefined ? {} : { object }),
    ...(oldObject === undefined ? {} : { oldObject }),
  };
}

/** Applies the `add`/`replace` operations the mutating half writes (RFC 6902 for those two). */
function applyPatch<T>(obj: T, patch: string | undefined): T {
  if (!patch) return obj;
  const out = structuredClone(obj) as Record<string, unknown>;
  for (const op of JSON.parse(Buffer.from(patch, 'base64').toString()) as JsonPatchOp[]) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let at = out;
    for (const p of parts.slice(0, -1)) at = at[p] as Record<string, unknown>;
    const last = parts.at(-1) as string;
    if (op.op === 'replace' && !(last in at)) throw new Error(`replace of missing ${op.path}`);
    at[last] = op.value;
  }
  return out as T;
}

describe('validateAdmission', () => {
  const existing = gw('a', ['198.18.0.0/30'], { clusterDefault: true });

  it('allows a valid gateway', () => {
    const r = validateAdmission(req('CREATE', gw('b', ['198.18.1.1'])), view([existing]));
    expect(r).toMatchObject({ allowed: true });
  });

  it('refuses a default EIP outside its pool with the field, the fix, and a cause per field', () => {
    const bad = gw('b', ['198.18.1.1'], {});
    (bad.spec as { ippools: Record<string, unknown> }).ippools.ipv4DefaultEIP = '198.18.9.9';
    const r = validateAdmission(req('CREATE', bad), view());
    expect(r.allowed).toBe(false);
    expect(r.status?.code).toBe(422);
    expect(r.status?.message).toMatch(/^EgressGateway "b" is invalid: spec\.ippools\.ipv4DefaultEIP: /);
    expect(r.status?.details?.causes).toEqual([
      expect.objectContaining({ type: 'FieldValueInvalid', field: 'spec.ippools.ipv4DefaultEIP' }),
    ]);
  });

  it('refuses a pool overlapping a cached gateway, and a second cluster default', () => {
    const r = validateAdmission(
      req('CREATE', gw('b', ['198.18.0.2'], { clusterDefault: true })),
      view([existing]),
    );
    const fields = r.status?.details?.causes.map((c) => c.field).sort();
    expect(fields).toEqual(['spec.clusterDefault', 'spec.ippools.ipv4[0]']);
    expect(r.status?.message).toContain('EgressGateway a');
  });

  it('refuses changing a policy gateway on update, names the field', () => {
    const before = pol('p', {
      egressGatewayName: 'a',
      egressIP: { useNodeIP: false, allocatorPolicy: 'default' },
    });
    const after = pol('p', {
      egressGatewayName: 'b',
      egressIP: { useNodeIP: false, allocatorPolicy: 'default' },
    });
    const r = validateAdmission(req('UPDATE', after, before), view([existing]));
    expect(r.status?.details?.causes.map((c) => c.field)).toEqual(['spec.egressGatewayName']);
    expect(r.status?.message).toContain('immutable');
  });

  it('refuses a policy naming a gateway that does not exist, only on create', () => {
    const p = pol('p', { egressGatewayName: 'nope' });
    expect(validateAdmission(req('CREATE', p), view([existing])).status?.message).toContain(
      'EgressGateway "nope" does not exist',
    );
    expect(validateAdmission(req('UPDATE', p, p), view([existing])).allowed).toBe(true);
  });

  it('refuses deleting EgressClusterInfo/default (403) and allows other kinds and subresources through', () => {
    const info = { apiVersion: GV, kind: 'EgressClusterInfo', metadata: { name: 'default' } };
    const r = validateAdmission(req('DELETE', undefined, info), view());
    expect(r).toMatchObject({ allowed: false, status: { code: 403, reason: 'Forbidden' } });
    const pod = {
      uid: 'x',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE' as const,
      object: {},
    };
    expect(validateAdmission(pod, view()).allowed).toBe(true);
    const status = {
      ...req('UPDATE', { kind: 'EgressGateway', spec: 'garbage' }, existing),
      subResource: 'status',
    };
    expect(validateAdmission(status, view()).allowed).toBe(true);
  });

  it('refuses deleting a gateway while policies name it, listing them', () => {
    const users = [
      pol('p1', { egressGatewayName: 'a' }),
      pol('c1', { egressGatewayName: 'a' }, 'EgressClusterPolicy'),
      pol('other', { egressGatewayName: 'b' }),
    ];
    const r = validateAdmission(req('DELETE', undefined, existing), view([existing], users));
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain(
      '2 policies name this gateway (EgressClusterPolicy c1, EgressPolicy team/p1)',
    );
    const free = validateAdmission(
      req('DELETE', undefined, gw('c', ['198.18.3.3'])),
      view([existing], users),
    );
    expect(free.allowed).toBe(true);
  });
});

describe('mutateAdmission', () => {
  const a = gw('a', ['198.18.0.1']);
  const def = gw('def', ['198.18.0.2'], { clusterDefault: true });

  it('writes the namespace default gateway, then the cluster default, and the egressIP defaults', () => {
    const p = pol('p', {});
    const labelled = mutateAdmission(
      req('CREATE', p),
      view([a, def], [], { team: { 'spidernet.io/egressgateway-default': 'a' } }),
    );
    expect(applyPatch(p, labelled.patch).spec).toMatchObject({
      egressGatewayName: 'a',
      egressIP: { useNodeIP: false, allocatorPolicy: 'default' },
    });
    const plain = mutateAdmission(req('CREATE', p), view([a, def]));
    expect(applyPatch(p, plain.patch).spec?.egressGatewayName).toBe('def');
  });

  it('ignores the namespace label for a cluster policy', () => {
    const c = pol('c', {}, 'EgressClusterPolicy');
    const r = mutateAdmission(
      req('CREATE', c),
      view([a, def], [], { team: { 'spidernet.io/egressgateway-default': 'a' } }),
    );
    expect(applyPatch(c, r.patch).spec?.egressGatewayName).toBe('def');
  });

  it('fills only the missing egressIP fields, keeps a named gateway, and leaves updates alone', () => {
    const p = pol('p', { egressGatewayName: 'a', egressIP: { allocatorPolicy: 'rr' } });
    const r = mutateAdmission(req('CREATE', p), view([a, def]));
    expect(applyPatch(p, r.patch).spec).toMatchObject({
      egressGatewayName: 'a',
      egressIP: { useNodeIP: false, allocatorPolicy: 'rr' },
    });
    expect(mutateAdmission(req('UPDATE', pol('p', {}), p), view([a, def])).patch).toBeUndefined();
  });

  it('writes nothing for the gateway when there is no default (validation then names the fix)', () => {
    const p = pol('p', { egressIP: { useNodeIP: false, allocatorPolicy: 'default' } });
    const r = mutateAdmission(req('CREATE', p), view([a]));
    expect(r).toEqual({ uid: expect.any(String), allowed: true });
    expect(validateAdmission(req('CREATE', p), view([a])).status?.message).toContain('no gateway is named');
  });

  it('writes the first pool addresses as default EIPs, only when neither is set', () => {
    const g = gw('g', ['198.18.5.0/31', '198.18.6.1'], {});
    (g.spec as { ippools: Record<string, unknown> }).ippools.ipv6 = ['fd00::10-fd00::11', 'fd00::20'];
    const r = mutateAdmission(req('CREATE', g), view());
    expect(applyPatch(g, r.patch).spec?.ippools).toMatchObject({
      ipv4DefaultEIP: '198.18.5.0',
      ipv6DefaultEIP: 'fd00::10',
    });
    const set = gw('s', ['198.18.5.1'], {});
    (set.spec as { ippools: Record<string, unknown> }).ippools.ipv4DefaultEIP = '198.18.5.1';
    expect(mutateAdmission(req('UPDATE', set, set), view()).patch).toBeUndefined();
    expect(
      mutateAdmission(req('CREATE', gw('bad', ['198.18.9.9-198.18.9.1'])), view()).patch,
    ).toBeUndefined();
  });

  it('admits what the crds arbitraries generate, after its own defaults', () => {
    fc.assert(
      fc.property(arbEgressGateway(), fc.oneof(arbEgressPolicy(), arbEgressClusterPolicy()), (g, p) => {
        const v = view([], [], {});
        const g2 = applyPatch(g, mutateAdmission(req('CREATE', g), v).patch);
        const gr = validateAdmission(req('CREATE', g2), v);
        expect(gr.status?.message).toBeUndefined();
        // The policy names the generated gateway; its EIP settings fit any pool (no explicit EIPs).
        const named = { ...p, spec: { ...p.spec, egressGatewayName: g.metadata?.name } } as EgressPolicy;
        const withGw = view([g2]);
        const p2 = applyPatch(named, mutateAdmission(req('CREATE', named), withGw).patch);
        expect(validateAdmission(req('CREATE', p2), withGw).status?.message).toBeUndefined();
      }),
    );
  });
});

describe('families', () => {
  it('refuses a pool of a family the cluster disabled (upstream rule 2), and only then', () => {
    const dual = gw('d', ['198.18.30.1'], {});
    (dual.spec as { ippools: Record<string, unknown> }).ippools.ipv6 = ['fd00:30::1'];
    const v4only: AdmissionView = { ...view(), families: { ipv4: true, ipv6: false } };
    const r = validateAdmission(req('CREATE', dual), v4only);
    expect(r.status?.details?.causes.map((c) => c.field)).toEqual(['spec.ippools.ipv6']);
    expect(r.status?.message).toContain('enableIPv6: false');
    expect(validateAdmission(req('CREATE', dual), view()).allowed).toBe(true);
  });
});
