/**
 * The admission decisions, as pure functions of one `admission.k8s.io/v1` AdmissionReview
 * request and what the controller's informers hold: no I/O, so every rule is a table test.
 *
 * Validating (`/validate`): `validateResource` on create, `validateUpdate` on update, then
 * `validateAgainstCluster` against the cached gateways; on delete, `EgressClusterInfo` is refused
 * (upstream rule 27) and so is a gateway a policy still names (rule 12). Mutating (`/mutate`):
 * the defaults upstream writes (rules 11, 14, 15) as a JSONPatch.
 */
import {
  API_GROUP,
  CLUSTER_INFO_NAME,
  type EgressGateway,
  type EgressObject,
  type EgressPolicy,
  type EnabledFamilies,
  isEgressKind,
  NAMESPACE_DEFAULT_GATEWAY_LABEL,
  type ValidationError,
  validateAgainstCluster,
  validateFamilies,
  validateResource,
  validateUpdate,
} from '@egressgateway/crds';
import { type AddressPool, canonicalIpOrText, parsePool, poolAt } from '@egressgateway/netaddr';

/** The operations kube-apiserver sends. */
export type AdmissionOperationName = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** The part of an `admission.k8s.io/v1` AdmissionReview request the webhook reads. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  readonly resource?: { readonly group: string; readonly version: string; readonly resource: string };
  readonly subResource?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly operation: AdmissionOperationName;
  readonly object?: unknown;
  readonly oldObject?: unknown;
  readonly dryRun?: boolean;
}

/** One cause of a refusal, as `metav1.StatusCause`: kubectl prints the field and the message. */
export interface StatusCause {
  readonly type: 'FieldValueInvalid' | 'FieldValueForbidden';
  readonly field: string;
  readonly message: string;
}

/** An `admission.k8s.io/v1` AdmissionReview response. */
export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: {
    readonly code: number;
    readonly reason: 'Invalid' | 'Forbidden';
    readonly message: string;
    readonly details?: {
      readonly name?: string;
      readonly group: string;
      readonly kind: string;
      readonly causes: readonly StatusCause[];
    };
  };
  readonly patchType?: 'JSONPatch';
  /** Base64 of the JSON Patch (RFC 6902) operations. */
  readonly patch?: string;
  readonly warnings?: readonly string[];
}

/** What the decisions read from the controller's caches. */
export interface AdmissionView {
  readonly gateways: () => readonly EgressGateway[];
  /** Every EgressPolicy and EgressClusterPolicy (kind, name, namespace, gateway). */
  readonly policies: () => readonly EgressPolicy[];
  /** A namespace's labels, or `undefined` when it is not cached. */
  readonly namespaceLabels: (namespace: string) => Readonly<Record<string, string>> | undefined;
  /** The families egress uses (upstream's `enableIPv4`/`enableIPv6`); default both. */
  readonly families?: EnabledFamilies;
}

/** One JSON Patch operation the mutating half writes. */
export interface JsonPatchOp {
  readonly op: 'add' | 'replace';
  readonly path: string;
  readonly value: unknown;
}

const POLICY_KINDS = new Set(['EgressPolicy', 'EgressClusterPolicy']);

function isOurs(req: AdmissionRequest): boolean {
  return req.kind.group === API_GROUP && isEgressKind(req.kind.kind);
}

const allow = (uid: string, extra: Partial<AdmissionResponse> = {}): AdmissionResponse => ({
  uid,
  allowed: true,
  ...extra,
});

function objectName(req: AdmissionRequest, obj: unknown): string {
  const meta = (obj as { metadata?: { name?: string; generateName?: string } } | undefined)?.metadata;
  return req.name || meta?.name || meta?.generateName || '';
}

/**
 * A refusal whose `status.message` names every field and its fix (kubectl prints it after
 * `admission webhook "<name>" denied the request:`) and whose causes carry the field paths.
 */
export function deny(
  req: AdmissionRequest,
  errors: readonly ValidationError[],
  reason: 'Invalid' | 'Forbidden' = 'Invalid',
): AdmissionResponse {
  const name = objectName(req, req.object ?? req.oldObject);
  const what = `${req.kind.kind}${name ? ` "${name}"` : ''}`;
  const list = errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
  return {
    uid: req.uid,
    allowed: false,
    status: {
      code: reason === 'Invalid' ? 422 : 403,
      reason,
      message: `${what} is ${reason === 'Invalid' ? 'invalid' : 'forbidden'}: ${list}`,
      details: {
        ...(name ? { name } : {}),
        group: req.kind.group,
        kind: req.kind.kind,
        causes: errors.map((e) => ({
          type: reason === 'Invalid' ? 'FieldValueInvalid' : 'FieldValueForbidden',
          field: e.path,
          message: e.message,
        })),
      },
    },
  };
}

/** The gateway names policies still use, with the policies (`Kind ns/name`) naming each. */
function policiesNaming(gateway: string, view: AdmissionView): string[] {
  return view
    .policies()
    .filter((p) => p.spec?.egressGatewayName === gateway)
    .map(
      (p) => `${p.kind} ${p.metadata?.namespace ? `${p.metadata.namespace}/` : ''}${p.metadata?.name ?? ''}`,
    )
    .sort();
}

function validateDelete(req: AdmissionRequest, view: AdmissionView): AdmissionResponse {
  const name = req.name ?? objectName(req, req.oldObject);
  if (req.kind.kind === 'EgressClusterInfo' && name === CLUSTER_INFO_NAME) {
    return deny(
      req,
      [
        {
          path: '',
          message:
            'the controller keeps EgressClusterInfo/default and agents read it to keep in-cluster traffic off the EIPs; it cannot be deleted (edit spec instead)',
        },
      ],
      'Forbidden',
    );
  }
  if (req.kind.kind === 'EgressGateway') {
    const users = policiesNaming(name, view);
    if (users.length > 0) {
      const shown = users.slice(0, 5).join(', ') + (users.length > 5 ? ` and ${users.length - 5} more` : '');
      return deny(
        req,
        [
          {
            path: '',
            message: `${users.length} ${users.length === 1 ? 'policy names' : 'policies name'} this gateway (${shown}): delete them or point them at another gateway first`,
          },
        ],
        'Forbidden',
      );
    }
  }
  return allow(req.uid);
}

/**
 * The validating decision for one request. Objects of other groups and kinds, `CONNECT`, and
 * subresources are allowed untouched (the webhook configurations do not send them; a wrong
 * configuration must not block the cluster's other objects).
 */
export function validateAdmission(req: AdmissionRequest, view: AdmissionView): AdmissionResponse {
  if (!isOurs(req) || req.subResource) return allow(req.uid);
  if (req.operation === 'DELETE') return validateDelete(req, view);
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow(req.uid);
  const r =
    req.operation === 'UPDATE' && req.oldObject !== undefined
      ? validateUpdate(req.oldObject as EgressObject, req.object)
      : validateResource(req.object);
  if (!r.ok) return deny(req, r.errors);
  const cross = [
    ...(view.families ? validateFamilies(r.value, view.families) : []),
    ...validateAgainstCluster(r.value, { gateways: view.gateways() }, req.operation),
  ];
  return cross.length > 0 ? deny(req, cross) : allow(req.uid);
}

/** JSON Pointer escaping of one path segment (RFC 6901). */
const pointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function policyDefaults(req: AdmissionRequest, view: AdmissionView): JsonPatchOp[] {
  const policy = req.object as EgressPolicy;
  const ops: JsonPatchOp[] = [];
  if (policy.spec === undefined || policy.spec === null || typeof policy.spec !== 'object') return ops;
  if (!policy.spec.egressGatewayName) {
    // Upstream's order: the namespace's default gateway (EgressPolicy only), then the cluster's.
    const nsLabel =
      req.kind.kind === 'EgressPolicy' && req.namespace
        ? view.namespaceLabels(req.namespace)?.[NAMESPACE_DEFAULT_GATEWAY_LABEL]
        : undefined;
    const clusterDefault = view
      .gateways()
      .filter((g) => g.spec?.clusterDefault === true)
      .map((g) => g.metadata?.name ?? '')
      .sort()[0];
    const chosen = nsLabel || clusterDefault;
    if (chosen) {
      ops.push({
        op: policy.spec.egressGatewayName === undefined ? 'add' : 'replace',
        path: '/spec/egressGatewayName',
        value: chosen,
      });
    }
  }
  const eip = policy.spec.egressIP;
  if (eip === undefined || eip === null) {
    ops.push({ op: 'add', path: '/spec/egressIP', value: { useNodeIP: false, allocatorPolicy: 'default' } });
  } else if (typeof eip === 'object') {
    if (eip.useNodeIP === undefined) ops.push({ op: 'add', path: '/spec/egressIP/useNodeIP', value: false });
    if (eip.allocatorPolicy === undefined || (eip.allocatorPolicy as string) === '')
      ops.push({
        op: eip.allocatorPolicy === undefined ? 'add' : 'replace',
        path: '/spec/egressIP/allocatorPolicy',
        value: 'default',
      });
  }
  return ops;
}

/**
 * An address the engine would hand out: not the unspecified address, and not the network
 * (subnet-router anycast) address of an IPv6 CIDR entry, which the engine never places.
 */
function usable(address: string, entries: readonly string[]): boolean {
  if (address === '0.0.0.0' || address === '::') return false;
  if (!address.includes(':')) return true;
  return !entries.some((e) => {
    const slash = e.indexOf('/');
    if (slash < 0 || Number(e.slice(slash + 1)) >= 127) return false;
    const network = poolAt(parsePool([e]), 0n);
    return network !== undefined && canonicalIpOrText(network) === canonicalIpOrText(address);
  });
}

function gatewayDefaults(req: AdmissionRequest): JsonPatchOp[] {
  const pools = (req.object as EgressGateway).spec?.ippools;
  if (!pools || typeof pools !== 'object') return [];
  // Written only when neither is set, as the engine's own fallback reads: with one set, the engine
  // pairs it with the address at the same position of the other pool.
  if (pools.ipv4DefaultEIP || pools.ipv6DefaultEIP) return [];
  const families = (['ipv4', 'ipv6'] as const).filter((f) => Array.isArray(pools[f]) && pools[f].length > 0);
  const parsed = new Map(families.map((f) => [f, parsePool(pools[f])] as const));
  if ([...parsed.values()].some((p) => p.problems.length > 0)) return []; // validation refuses it
  // The first position whose addresses (one per family: a pair) the engine would hand out.
  for (let i = 0n; i < 256n; i++) {
    const pair = families.map((f) => [f, poolAt(parsed.get(f) as AddressPool, i)] as const);
    if (pair.every(([, a]) => a === undefined)) return [];
    if (!pair.every(([f, a]) => a === undefined || usable(a, pools[f] ?? []))) continue;
    return pair.flatMap(([f, a]) =>
      a === undefined
        ? []
        : [
            {
              op: pools[`${f}DefaultEIP`] === undefined ? 'add' : 'replace',
              path: `/spec/ippools/${pointer(`${f}DefaultEIP`)}`,
              value: a,
            } as JsonPatchOp,
          ],
    );
  }
  return [];
}

/**
 * The mutating decision: on create of a policy, the gateway (namespace label
 * `spidernet.io/egressgateway-default`, then the cluster default) and `spec.egressIP` defaults,
 * written so they cannot change later; on create or update of a gateway without default EIPs,
 * the first pair of pool addresses the failover engine would hand out (what it falls back to). Never refuses:
 * refusals are the validating webhook's.
 */
export function mutateAdmission(req: AdmissionRequest, view: AdmissionView): AdmissionResponse {
  if (!isOurs(req) || req.subResource || typeof req.object !== 'object' || req.object === null)
    return allow(req.uid);
  let ops: JsonPatchOp[] = [];
  if (POLICY_KINDS.has(req.kind.kind) && req.operation === 'CREATE') ops = policyDefaults(req, view);
  else if (req.kind.kind === 'EgressGateway' && (req.operation === 'CREATE' || req.operation === 'UPDATE'))
    ops = gatewayDefaults(req);
  if (ops.length === 0) return allow(req.uid);
  return allow(req.uid, {
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
  });
}
