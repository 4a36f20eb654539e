import { createHash } from 'node:crypto';
import type { KubeClient } from './client.js';
import { isConflict, isNotFound } from './errors.js';
import type { KubeObject } from './informer.js';
import type { ResourceRef } from './resources.js';

/** coordination.k8s.io/v1 Leases (the gateway agents' heartbeats; the controllers' election). */
export const LEASES: ResourceRef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  kind: 'Lease',
  namespaced: true,
};

/**
 * Label on every heartbeat Lease (value `true`): the controller lists and watches only these, so
 * the election Leases and anything else in the namespace stay out of its cache.
 */
export const HEARTBEAT_LEASE_LABEL = 'egressgateway.spidernet.io/heartbeat';

/** The label selector of the heartbeat Leases. */
export const HEARTBEAT_LEASE_SELECTOR = `${HEARTBEAT_LEASE_LABEL}=true`;

/**
 * Annotation the leading controller puts on a node's heartbeat Lease when it evicts the node
 * (before it writes the tunnel's `HeartbeatTimeout`), with the Lease's resourceVersion as
 * precondition. Its value is the `spec.renewTime` the eviction judged. A renewal that lands after
 * it comes back with it (the agent lets go at once); a renewal that landed before it makes the
 * controller's write fail with 409, and the eviction is decided again. The controller removes it
 * once a later renewal made the tunnel Ready again.
 */
export const HEARTBEAT_EVICTED_ANNOTATION = 'egressgateway.spidernet.io/evicted';

/**
 * Annotation a controller that judges heartbeats by these Leases puts on each heartbeat Lease
 * (value `true`), once. Until an agent's Lease carries it, the agent also writes every heartbeat to
 * its tunnel's `status.lastHeartbeatTime` as before, with the tunnel's phase in the response
 * deciding its fence: an older controller (during `helm upgrade` both run for a while) judges
 * only the tunnel, and would otherwise evict every upgraded agent.
 */
export const HEARTBEAT_READER_ANNOTATION = 'egressgateway.spidernet.io/heartbeat-reader';

/** Namespace of the heartbeat Leases when no pod namespace is known (outside a cluster). */
export const DEFAULT_HEARTBEAT_NAMESPACE = 'kube-system';

const PREFIX = 'egressgateway-heartbeat-';
/** Write attempts of one renewal (see {@link renewHeartbeatLease}). */
const MAX_ATTEMPTS = 3;
/** A Lease name is a DNS subdomain: at most 253 characters. */
const MAX_NAME = 253;

/** The fields of a heartbeat Lease that the agents and the controller use. */
export interface HeartbeatLease extends KubeObject {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    /** The node whose agent renews it. */
    holderIdentity?: string;
    /** When the agent sent the renewal (its clock, RFC 3339 with six fractional digits). */
    renewTime?: string;
    /** The eviction timeout in whole seconds, rounded up (for readers; the controller uses its own). */
    leaseDurationSeconds?: number;
  };
}

/**
 * The heartbeat Lease of `node`: `egressgateway-heartbeat-<node>`. A node name long enough to
 * push that past 253 characters is shortened and given a hash of the full name, so two nodes
 * never share a Lease; the controller maps a Lease to its node by `spec.holderIdentity`.
 */
export function heartbeatLeaseName(node: string): string {
  const name = `${PREFIX}${node}`;
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(node).digest('hex').slice(0, 16);
  return `${name.slice(0, MAX_NAME - hash.length - 1).replace(/[.-]+$/, '')}-${hash}`;
}

/** Epoch milliseconds as a Kubernetes MicroTime (RFC 3339, exactly six fractional digits). */
export function toMicroTime(epochMs: number): string {
  const wholeMs = Math.floor(epochMs);
  const micros = Math.min(999, Math.max(0, Math.round((epochMs - wholeMs) * 1000)));
  return `${new Date(wholeMs).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** The node a heartbeat Lease belongs to (`spec.holderIdentity`), or undefined. */
export function heartbeatLeaseNode(lease: HeartbeatLease): string | undefined {
  return lease.spec?.holderIdentity || undefined;
}

/** True when the controller evicted the node on this Lease and has not lifted it yet. */
export function heartbeatLeaseEvicted(lease: HeartbeatLease | undefined): boolean {
  return lease?.metadata?.annotations?.[HEARTBEAT_EVICTED_ANNOTATION] !== undefined;
}

/** True when a controller judges the node by this Lease ({@link HEARTBEAT_READER_ANNOTATION}). */
export function heartbeatLeaseRead(lease: HeartbeatLease | undefined): boolean {
  return lease?.metadata?.annotations?.[HEARTBEAT_READER_ANNOTATION] === 'true';
}

/** What {@link renewHeartbeatLease} writes. */
export interface HeartbeatRenewal {
  node: string;
  namespace: string;
  /** The send time (epoch ms): written as `spec.renewTime`. */
  sentAt: number;
  /** The eviction timeout (ms), written rounded up to whole seconds as `leaseDurationSeconds`. */
  evictionTimeoutMs: number;
  /**
   * The Lease as last written or read by this renewer (its resourceVersion is the precondition);
   * undefined on the first renewal.
   */
  previous?: HeartbeatLease | undefined;
}

/**
 * Renews a node's heartbeat Lease: creates it on the first renewal, else a merge patch of its
 * `spec` with the previous resourceVersion as precondition. On a conflict (someone else wrote the
 * Lease, normally the controller marking or lifting an eviction) the Lease is read again and the
 * renewal written again on top of it, keeping its annotations; on 404 it is created again.
 * Resolves to the Lease as the API server stored it: {@link heartbeatLeaseEvicted} of it tells
 * whether the controller had evicted the node when this renewal landed. Rejects with the API
 * error when the third attempt fails too.
 *
 * @example
 * ```ts
 * let lease = await renewHeartbeatLease(client, { node: 'node1', namespace: 'egressgateway',
 *   sentAt: Date.now(), evictionTimeoutMs: 15_000 });
 * lease = await renewHeartbeatLease(client, { ...next, previous: lease });
 * ```
 */
export async function renewHeartbeatLease(client: KubeClient, r: HeartbeatRenewal): Promise<HeartbeatLease> {
  const name = heartbeatLeaseName(r.node);
  const spec = {
    holderIdentity: r.node,
    renewTime: toMicroTime(r.sentAt),
    leaseDurationSeconds: Math.max(1, Math.ceil(r.evictionTimeoutMs / 1000)),
  };
  const create = () =>
    client.create<HeartbeatLease>(LEASES, {
      metadata: { name, namespace: r.namespace, labels: { [HEARTBEAT_LEASE_LABEL]: 'true' } },
      spec,
    });
  const update = (rv: string | undefined) =>
    client.patchMerge<HeartbeatLease>(LEASES, name, r.namespace, {
      metadata: { resourceVersion: rv, labels: { [HEARTBEAT_LEASE_LABEL]: 'true' } },
      spec,
    });
  let previous = r.previous;
  // Three attempts: a restarted agent's create meets the Lease of its earlier life (409), and the
  // controller may mark or lift an eviction on it between that read and the update (409 again).
  for (let attempt = 1; ; attempt++) {
    try {
      if (previous === undefined) {
        try {
          return await create();
        } catch (err) {
          if (!isConflict(err) || attempt >= MAX_ATTEMPTS) throw err;
          // It exists (an earlier life of this agent): renew on top of it.
          previous = await client.get<HeartbeatLease>(LEASES, name, r.namespace);
          continue;
        }
      }
      return await update(previous.metadata?.resourceVersion);
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS) throw err;
      if (isNotFound(err)) previous = undefined;
      else if (isConflict(err)) previous = await client.get<HeartbeatLease>(LEASES, name, r.namespace);
      else throw err;
    }
  }
}
