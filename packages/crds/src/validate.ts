import {
  checkLabelKey,
  checkLabelValue,
  distinctPoolSize,
  type IpFamily,
  type LabelSelectorLike,
  parseCidr,
  parseIp,
  parsePool,
  poolContains,
  poolExclusionOf,
  selectorIssues,
} from '@egressgateway/netaddr';
import { API_GROUP_VERSION, CLUSTER_INFO_NAME, type EgressKind, KINDS, MARK_BASE } from './constants.js';
import { joinPath, type ValidationError, type ValidationResult } from './errors.js';
import { dnsSubdomainError } from './names.js';
import { schemaChecker } from './schema-errors.js';
import {
  type EgressClusterEndpointSlice,
  type EgressClusterInfo,
  type EgressClusterPolicy,
  type EgressEndpointSlice,
  type EgressGateway,
  type EgressPolicy,
  type EgressTunnel,
  SCHEMAS,
} from './schemas/index.js';

/** Any object of the seven kinds. */
export type EgressObject =
  | EgressGateway
  | EgressTunnel
  | EgressPolicy
  | EgressClusterPolicy
  | EgressClusterInfo
  | EgressEndpointSlice
  | EgressClusterEndpointSlice;

const checkers = Object.fromEntries(
  (Object.keys(SCHEMAS) as EgressKind[]).map((k) => [k, schemaChecker(SCHEMAS[k])]),
) as Record<EgressKind, (v: unknown) => ValidationError[]>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when `kind` names one of the seven kinds of this API. */
export function isEgressKind(kind: unknown): kind is EgressKind {
  return typeof kind === 'string' && Object.hasOwn(KINDS, kind);
}

const FAMILY_NAME = { 4: 'IPv4', 6: 'IPv6' } as const;

function addressError(value: string, family: IpFamily): string | undefined {
  const ip = parseIp(value);
  if (!ip.ok) return ip.error;
  if (ip.value.family !== family)
    return `"${value}" is an ${FAMILY_NAME[ip.value.family]} address: this field takes ${FAMILY_NAME[family]}`;
  return undefined;
}

function cidrErrors(list: readonly string[] | undefined, path: string): ValidationError[] {
  const out: ValidationError[] = [];
  (list ?? []).forEach((c, i) => {
    const p = parseCidr(c);
    if (!p.ok) out.push({ path: joinPath(path, i), message: p.error });
  });
  return out;
}

function selectorErrors(sel: LabelSelectorLike | undefined, path: string): ValidationError[] {
  if (!sel) return [];
  return selectorIssues(sel).map((i) => ({ path: `${path}.${i.path}`, message: i.message }));
}

/** True when a selector has no requirement at all, and so matches every object. */
export function isEmptySelector(sel: LabelSelectorLike | undefined): boolean {
  return Object.keys(sel?.matchLabels ?? {}).length === 0 && (sel?.matchExpressions ?? []).length === 0;
}

function metadataErrors(obj: EgressObject, namespaced: boolean): ValidationError[] {
  const out: ValidationError[] = [];
  const name = obj.metadata?.name;
  if (name === undefined) out.push({ path: 'metadata.name', message: 'Required value: set metadata.name' });
  else {
    const e = dnsSubdomainError(name);
    if (e) out.push({ path: 'metadata.name', message: e });
  }
  if (!namespaced && obj.metadata?.namespace) {
    out.push({
      path: 'metadata.namespace',
      message: `${obj.kind} is cluster-scoped: remove metadata.namespace`,
    });
  }
  for (const [k, v] of Object.entries(obj.metadata?.labels ?? {})) {
    const key = checkLabelKey(k);
    const value = checkLabelValue(v);
    const e = !key.ok ? key.error : !value.ok ? value.error : undefined;
    if (e) out.push({ path: `metadata.labels[${k}]`, message: e });
  }
  return out;
}

function gatewayErrors(gw: EgressGateway): ValidationError[] {
  const out: ValidationError[] = [];
  if (!gw.spec)
    return [{ path: 'spec', message: 'Required value: an EgressGateway needs spec.nodeSelector.selector' }];
  const pools = gw.spec.ippools ?? {};
  // Pools read as upstream reads them (@egressgateway/netaddr): host bits masked, IPv4 network and
  // broadcast left out, overlapping entries merged, blank entries refused.
  const parsed = { 4: parsePool(pools.ipv4), 6: parsePool(pools.ipv6) };
  for (const family of [4, 6] as const) {
    const field = family === 4 ? 'ipv4' : 'ipv6';
    const base = `spec.ippools.${field}`;
    // Paths use the index in the list as written, blanks included.
    for (const e of parsed[family].problems) out.push({ path: joinPath(base, e.index), message: e.message });
    for (const i of parsed[family].segments) {
      if (i.family !== family) {
        out.push({
          path: joinPath(base, i.index),
          message: `"${i.entry}" is ${FAMILY_NAME[i.family]}: move it to spec.ippools.${family === 4 ? 'ipv6' : 'ipv4'}`,
        });
      }
    }
    // Overlapping or repeated entries merge (upstream's reading, issue 19): nothing to refuse.
    const defField = family === 4 ? 'ipv4DefaultEIP' : 'ipv6DefaultEIP';
    const def = pools[defField];
    if (def) {
      const e = addressError(def, family);
      if (e) out.push({ path: `spec.ippools.${defField}`, message: e });
      else if (!poolContains(parsed[family], def)) {
        const x = poolExclusionOf(parsed[family], def);
        out.push({
          path: `spec.ippools.${defField}`,
          message: x
            ? `${def} is the ${x.role} address of ${x.entry}, which a pool leaves out: choose another address of spec.ippools.${field}`
            : `${def} is not in spec.ippools.${field}: add it to the pool or choose an address from it`,
        });
      }
    }
  }
  const n4 = distinctPoolSize(parsed[4]);
  const n6 = distinctPoolSize(parsed[6]);
  if (n4 > 0n && n6 > 0n && n4 !== n6) {
    out.push({
      path: 'spec.ippools',
      message: `dual-stack pools must be the same size (ipv4 has ${n4} addresses, ipv6 has ${n6}): the n-th IPv4 EIP pairs with the n-th IPv6 EIP`,
    });
  }
  const selector = gw.spec.nodeSelector?.selector;
  // Upstream refuses an empty selector: it would make every node of the cluster a gateway node.
  if (selector !== undefined && isEmptySelector(selector)) {
    out.push({
      path: 'spec.nodeSelector.selector',
      message:
        'the selector is empty and would select every node: name the gateway nodes with matchLabels or matchExpressions',
    });
  }
  out.push(...selectorErrors(selector, 'spec.nodeSelector.selector'));
  return out;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const MARK = /^0x[0-9a-f]{8}$/i;

function tunnelErrors(t: EgressTunnel): ValidationError[] {
  const out: ValidationError[] = [];
  const s = t.status;
  if (!s) return out;
  if (s.mark !== undefined && s.mark !== '') {
    const v = Number.parseInt(s.mark, 16);
    if (!MARK.test(s.mark) || v <= MARK_BASE || v >= 0x27000000) {
      out.push({
        path: 'status.mark',
        message: `"${s.mark}" is not a gateway mark: use 8 hex digits above 0x26000000, e.g. 0x26d9b723`,
      });
    }
  }
  if (s.tunnel?.mac && !MAC.test(s.tunnel.mac)) {
    out.push({
      path: 'status.tunnel.mac',
      message: `"${s.tunnel.mac}" is not a MAC address (xx:xx:xx:xx:xx:xx)`,
    });
  }
  for (const [field, family] of [
    ['ipv4', 4],
    ['ipv6', 6],
  ] as const) {
    const v = s.tunnel?.[field];
    if (v) {
      const e = addressError(v, family);
      if (e) out.push({ path: `status.tunnel.${field}`, message: e });
    }
    const pv = s.tunnel?.parent?.[field];
    if (pv) {
      const e = addressError(pv, family);
      if (e) out.push({ path: `status.tunnel.parent.${field}`, message: e });
    }
  }
  return out;
}

function policyErrors(p: EgressPolicy | EgressClusterPolicy): ValidationError[] {
  const out: ValidationError[] = [];
  if (!p.spec) return [{ path: 'spec', message: 'Required value: a policy needs spec.appliedTo' }];
  const { appliedTo, egressIP, destSubnet } = p.spec;
  const hasSelector = appliedTo.podSelector !== undefined;
  const hasSubnet = (appliedTo.podSubnet ?? []).length > 0;
  if (hasSelector && hasSubnet) {
    out.push({
      path: 'spec.appliedTo',
      message: 'podSelector and podSubnet are both set: keep exactly one of them',
    });
  } else if (!hasSelector && !hasSubnet) {
    out.push({
      path: 'spec.appliedTo',
      message: 'neither podSelector nor podSubnet is set: set exactly one of them',
    });
  }
  // Upstream requires a non-empty podSelector: `{}` would send every pod (of the namespace, or of
  // the cluster for an EgressClusterPolicy) through the gateway.
  if (hasSelector && !hasSubnet && isEmptySelector(appliedTo.podSelector)) {
    out.push({
      path: 'spec.appliedTo.podSelector',
      message:
        'the podSelector is empty and would select every pod: add matchLabels or matchExpressions, or use podSubnet',
    });
  }
  out.push(...selectorErrors(appliedTo.podSelector, 'spec.appliedTo.podSelector'));
  if ('namespaceSelector' in appliedTo) {
    out.push(
      ...selectorErrors(
        appliedTo.namespaceSelector as LabelSelectorLike | undefined,
        'spec.appliedTo.namespaceSelector',
      ),
    );
  }
  out.push(...cidrErrors(appliedTo.podSubnet, 'spec.appliedTo.podSubnet'));
  out.push(...cidrErrors(destSubnet, 'spec.destSubnet'));
  if (egressIP) {
    for (const [field, family] of [
      ['ipv4', 4],
      ['ipv6', 6],
    ] as const) {
      const v = egressIP[field];
      if (v) {
        const e = addressError(v, family);
        if (e) out.push({ path: `spec.egressIP.${field}`, message: e });
        if (egressIP.useNodeIP) {
          out.push({
            path: `spec.egressIP.${field}`,
            message:
              'useNodeIP is true, so no EIP can be chosen: remove this address or set useNodeIP to false',
          });
        }
      }
    }
  }
  return out;
}

function clusterInfoErrors(ci: EgressClusterInfo): ValidationError[] {
  const out: ValidationError[] = [];
  if (ci.metadata?.name !== undefined && ci.metadata.name !== CLUSTER_INFO_NAME) {
    out.push({
      path: 'metadata.name',
      message: `EgressClusterInfo is a singleton: name it "${CLUSTER_INFO_NAME}"`,
    });
  }
  out.push(...cidrErrors(ci.spec?.extraCidr, 'spec.extraCidr'));
  return out;
}

function endpointSliceErrors(slice: EgressEndpointSlice): ValidationError[] {
  const out: ValidationError[] = [];
  (slice.endpoints ?? []).forEach((ep, i) => {
    for (const [field, family] of [
      ['ipv4', 4],
      ['ipv6', 6],
    ] as const) {
      (ep[field] ?? []).forEach((ip, j) => {
        const e = addressError(ip, family);
        if (e) out.push({ path: `endpoints[${i}].${field}[${j}]`, message: e });
      });
    }
  });
  return out;
}

/**
 * Validates one object of any of the seven kinds: the schema (types, required fields, enums,
 * unknown fields) and the single-object rules users get wrong (addresses of the wrong family,
 * malformed ranges, default EIP outside its pool, duplicate pool addresses, unequal dual-stack
 * pools, label syntax, podSelector xor podSubnet, useNodeIP with an explicit IP).
 *
 * @example
 * const r = validateResource(yamlParse(text));
 * if (!r.ok) for (const e of r.errors) console.error(`${e.path}: ${e.message}`);
 */
export function validateResource(obj: unknown): ValidationResult<EgressObject> {
  if (!isRecord(obj)) return { ok: false, errors: [{ path: '', message: 'must be an object' }] };
  if (!isEgressKind(obj.kind)) {
    return {
      ok: false,
      errors: [
        {
          path: 'kind',
          message: `"${String(obj.kind)}" is not a kind of ${API_GROUP_VERSION}: use one of ${Object.keys(KINDS).join(', ')}`,
        },
      ],
    };
  }
  const kind = obj.kind;
  const errors: ValidationError[] = [];
  if (obj.apiVersion !== API_GROUP_VERSION) {
    errors.push({ path: 'apiVersion', message: `must be ${API_GROUP_VERSION}` });
  }
  errors.push(...checkers[kind](obj));
  if (errors.length > 0) return { ok: false, errors };
  const value = obj as unknown as EgressObject;
  errors.push(...metadataErrors(value, KINDS[kind].scope === 'Namespaced'));
  switch (kind) {
    case 'EgressGateway':
      errors.push(...gatewayErrors(value as EgressGateway));
      break;
    case 'EgressTunnel':
      errors.push(...tunnelErrors(value as EgressTunnel));
      break;
    case 'EgressPolicy':
    case 'EgressClusterPolicy':
      errors.push(...policyErrors(value as EgressPolicy));
      break;
    case 'EgressClusterInfo':
      errors.push(...clusterInfoErrors(value as EgressClusterInfo));
      break;
    case 'EgressEndpointSlice':
    case 'EgressClusterEndpointSlice':
      errors.push(...endpointSliceErrors(value as EgressEndpointSlice));
      break;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}
