// The writes that make one policy's endpoint slices match its endpoints (pure). Few writes is the
// point: an agent on a gateway node receives every write of its gateways' slices, so a pod that
// comes or goes rewrites one slice, never reshuffles the others.
import {
  API_GROUP_VERSION,
  type EgressEndpoint,
  type EgressEndpointSlice,
  GATEWAY_NAME_LABEL,
  gatewayLabelValue,
  POLICY_NAME_LABEL,
} from '@egressgateway/crds';
import { podKey, sameEndpoint } from './endpoint-membership.js';

/** The policy that owns a set of slices. */
export interface SliceOwner {
  kind: 'EgressPolicy' | 'EgressClusterPolicy';
  name: string;
  /** EgressPolicy only: its slices live in its namespace. */
  namespace?: string | undefined;
  uid: string;
}

/** A slice as read from the API (either kind; cluster slices have no namespace). */
export type Slice = EgressEndpointSlice & {
  metadata?: EgressEndpointSlice['metadata'] & {
    ownerReferences?: OwnerReference[];
  };
};

/** `metadata.ownerReferences[]` as the slices carry it. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** What {@link planSlices} reads. */
export interface SlicePlanInput {
  /** The owning policy; `undefined` when it is gone (every slice is then deleted). */
  owner: SliceOwner | undefined;
  /** The gateway of the policy, written as a label so agents can select their gateways' slices. */
  gateway: string | undefined;
  /** Every endpoint the policy selects. */
  endpoints: Iterable<EgressEndpoint>;
  /** The policy's slices as they are now. */
  existing: readonly Slice[];
  /** Endpoints per slice (upstream's `maxNumberEndpointPerSlice`). */
  maxPerSlice: number;
  /** True when a name is in use by any slice of the namespace (ours or not): new names skip it. */
  nameTaken: (name: string) => boolean;
}

/** One slice to write: `update` carries the resourceVersion it was computed from. */
export interface SliceWrite {
  name: string;
  slice: Slice;
}

/** The writes of one policy. */
export interface SlicePlan {
  create: SliceWrite[];
  update: SliceWrite[];
  delete: Array<{ name: string; resourceVersion: string | undefined }>;
}

const MAX_NAME = 253;

/**
 * The name of a policy's `index`-th new slice: `<policy>-<index>` (a DNS subdomain, at most 253
 * characters: a long policy name is cut). Upstream uses generateName (`<policy>-xxxxx`); a
 * deterministic name lets a create that timed out be retried without a duplicate.
 */
export function sliceName(policyName: string, index: number): string {
  const suffix = `-${index}`;
  const base = policyName.slice(0, MAX_NAME - suffix.length).replace(/[-.]+$/, '');
  return `${base}${suffix}`;
}

/** The labels and owner reference every slice of `owner` carries. */
export function sliceMetadata(owner: SliceOwner, gateway: string | undefined) {
  return {
    labels: {
      [POLICY_NAME_LABEL]: owner.name,
      ...(gateway ? { [GATEWAY_NAME_LABEL]: gatewayLabelValue(gateway) } : {}),
    },
    // controller: true as upstream; no blockOwnerDeletion, which a real API server only lets a
    // client set with update permission on the policy's finalizers (the controller has none).
    ownerReferences: [
      { apiVersion: API_GROUP_VERSION, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true },
    ] as OwnerReference[],
  };
}

function metadataCurrent(slice: Slice, owner: SliceOwner, gateway: string | undefined): boolean {
  const labels = slice.metadata?.labels ?? {};
  if (labels[POLICY_NAME_LABEL] !== owner.name) return false;
  if (labels[GATEWAY_NAME_LABEL] !== (gateway ? gatewayLabelValue(gateway) : undefined)) return false;
  const refs = slice.metadata?.ownerReferences ?? [];
  return refs.length === 1 && refs[0]?.uid === owner.uid && refs[0]?.controller === true;
}

/**
 * The creates, updates and deletes that make `existing` hold exactly `endpoints`, each endpoint
 * once, at most `maxPerSlice` per slice. Endpoints stay in the slice they are in; a changed or
 * gone endpoint rewrites only its slice; new endpoints first fill slices that are rewritten anyway,
 * then slices with room (in name order), then new slices; a slice left empty is deleted. With no
 * owner every slice is deleted. Applying the plan and planning again gives no writes.
 *
 * @example
 * planSlices({ owner, gateway: 'egw1', endpoints: [ep], existing: [], maxPerSlice: 100, nameTaken: () => false })
 *   .create[0]?.name; // 'policy1-0'
 */
export function planSlices(input: SlicePlanInput): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const existing = [...input.existing].sort((a, b) => cmp(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  const { owner } = input;
  if (!owner) {
    for (const s of existing)
      plan.delete.push({ name: s.metadata?.name ?? '', resourceVersion: s.metadata?.resourceVersion });
    return plan;
  }
  const max = Math.max(1, Math.floor(input.maxPerSlice));
  const desired = new Map<string, EgressEndpoint>();
  for (const ep of input.endpoints) desired.set(podKey(ep.ns, ep.pod), ep);

  interface Work {
    slice: Slice;
    endpoints: EgressEndpoint[];
    changed: boolean;
  }
  const placed = new Set<string>();
  const work: Work[] = [];
  for (const s of existing) {
    const kept: EgressEndpoint[] = [];
    let changed = !metadataCurrent(s, owner, input.gateway);
    for (const ep of s.endpoints ?? []) {
      const k = podKey(ep.ns, ep.pod);
      const want = desired.get(k);
      // Gone, a duplicate (another slice has it), or over the limit (the limit was lowered).
      if (!want || placed.has(k) || kept.length >= max) {
        changed = true;
        continue;
      }
      if (!sameEndpoint(ep, want)) changed = true;
      kept.push(want);
      placed.add(k);
    }
    work.push({ slice: s, endpoints: kept, changed });
  }

  const pending = [...desired.keys()].filter((k) => !placed.has(k)).sort(cmp);
  let next = 0;
  const fill = (w: Work) => {
    while (next < pending.length && w.endpoints.length < max) {
      w.endpoints.push(desired.get(pending[next++] as string) as EgressEndpoint);
      w.changed = true;
    }
  };
  for (const w of work) if (w.changed) fill(w);
  for (const w of work) if (!w.changed) fill(w);

  const meta = sliceMetadata(owner, input.gateway);
  const body = (name: string, endpoints: EgressEndpoint[], resourceVersion?: string): Slice => ({
    apiVersion: API_GROUP_VERSION,
    kind: owner.kind === 'EgressPolicy' ? 'EgressEndpointSlice' : 'EgressClusterEndpointSlice',
    metadata: {
      name,
      ...(owner.namespace !== undefined ? { namespace: owner.namespace } : {}),
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
      labels: meta.labels,
      ownerReferences: meta.ownerReferences,
    },
    endpoints,
  });
  for (const w of work) {
    const name = w.slice.metadata?.name ?? '';
    const rv = w.slice.metadata?.resourceVersion;
    if (w.endpoints.length === 0) plan.delete.push({ name, resourceVersion: rv });
    else if (w.changed) plan.update.push({ name, slice: body(name, w.endpoints, rv) });
  }
  const ours = new Set(existing.map((s) => s.metadata?.name ?? ''));
  let index = 0;
  while (next < pending.length) {
    let name = sliceName(owner.name, index++);
    while (ours.has(name) || input.nameTaken(name)) name = sliceName(owner.name, index++);
    ours.add(name);
    const eps = pending.slice(next, next + max).map((k) => desired.get(k) as EgressEndpoint);
    next += eps.length;
    plan.create.push({ name, slice: body(name, eps) });
  }
  return plan;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
