// The input guard: the engine takes anything as state (the objects come from an API anyone with write
// access can fill, and from callers that make mistakes) and never throws on it. Each object is checked
// once (memoised per object): a well-formed object passes as itself, so every memo keyed on it keeps
// working; a malformed one is replaced by a repaired copy (memoised too, so the copy is as stable as
// the object) and its defects are reported as `InvalidInput` problems naming the field. Policies, the
// bulk of the input, are checked where their fields are read, in the one memo lookup per policy that
// `policy-facts.ts` does anyway; gateways and nodes here; tunnels, which change on every heartbeat, on
// every call by `tunnelEntry` (only the entries that are not plainly well-formed).
//
// How a defect is repaired decides what the engine does with the object, and is chosen to be safe:
// - an entry that is not an object becomes a nameless object (ignored, like any nameless object);
// - a spec field of the wrong type becomes text that names no gateway and no address, so the policy
//   resolves to nothing (it asked for something the engine cannot read: it gets no EIP at all rather
//   than a default it did not ask for);
// - a status of the wrong shape keeps only its well-formed parts and is marked to be written again.
import type {
  EgressEvent,
  EgressGatewayLike,
  EgressKind,
  EgressState,
  GatewayNodeLike,
  NodeLike,
  TunnelObservation,
} from './types.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A short description of a value for messages (`null`, `number 5`, `string "x"`, `a list`...). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
    case 'object':
      return 'an object';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return `${typeof v} ${String(v)}`;
  }
}

/** Text standing for a field that had the wrong type: names no gateway, parses as no address. */
export function invalidText(v: unknown): string {
  return `<invalid: ${describeValue(v)}>`;
}

/** The result of guarding one input: the value to use and the problems found. */
export interface Guarded<T> {
  readonly value: T;
  readonly problems: readonly EgressEvent[];
}

const NONE: readonly EgressEvent[] = [];

/** What a malformed entry becomes: a nameless object, which the engine ignores. */
const NAMELESS = Object.freeze({});

/** An `InvalidInput` problem. */
export function inputProblem(
  kind: EgressKind,
  name: string,
  message: string,
  namespace?: string,
): EgressEvent {
  return {
    type: 'Warning',
    reason: 'InvalidInput',
    message,
    involvedObject: namespace === undefined ? { kind, name } : { kind, name, namespace },
  };
}

// Statuses that had to be repaired: the engine writes them again even where the repaired copy reads
// like the desired status, so that the defect is gone after one write.
const repaired = new WeakSet<object>();

/** Whether a written `status.nodeList` was repaired by the guard and must be written again. */
export function mustRewrite(nodeList: unknown): boolean {
  return typeof nodeList === 'object' && nodeList !== null && repaired.has(nodeList);
}

/** Collects the defects of one object while its repaired copy is built. */
class Defects {
  readonly messages: string[] = [];
  add(field: string, expected: string, got: unknown, consequence: string): void {
    this.messages.push(`${field} must be ${expected}, got ${describeValue(got)}; ${consequence}`);
  }
}

/** `metadata` checked: the name (non-strings count as none) and namespace, or `null` when malformed. */
function metadataOf(o: Obj, d: Defects): { name: string; namespace: unknown; ok: boolean } {
  const m = o.metadata;
  if (m === undefined || m === null) return { name: '', namespace: undefined, ok: true };
  if (!isObj(m)) {
    d.add('metadata', 'an object', m, 'the object is ignored');
    return { name: '', namespace: undefined, ok: false };
  }
  if (m.name !== undefined && m.name !== null && typeof m.name !== 'string') {
    d.add('metadata.name', 'a string', m.name, 'the object is ignored');
    return { name: '', namespace: m.namespace, ok: false };
  }
  return { name: (m.name as string | undefined) ?? '', namespace: m.namespace, ok: true };
}

function memoised<T>(memo: WeakMap<object, Guarded<T>>, raw: object, build: () => Guarded<T>): Guarded<T> {
  let hit = memo.get(raw);
  if (hit === undefined) {
    hit = build();
    memo.set(raw, hit);
  }
  return hit;
}

const gatewayMemo = new WeakMap<object, Guarded<EgressGatewayLike>>();

/** A gateway as the engine may read it. */
export function guardGateway(raw: unknown): Guarded<EgressGatewayLike> {
  if (!isObj(raw)) return notAnObject('EgressGateway', 'state.gateways', raw);
  return memoised(gatewayMemo, raw, () => {
    const d = new Defects();
    const meta = metadataOf(raw, d);
    const name = meta.name;
    if (!meta.ok) return { value: NAMELESS, problems: toProblems('EgressGateway', name, d) };
    // The spec as the engine may read it: `undefined` for none, the same object when well-formed.
    let spec: Obj | undefined = raw.spec as Obj | undefined;
    if (spec !== undefined && spec !== null && !isObj(spec)) {
      d.add('spec', 'an object', spec, 'the gateway has no pool and selects no node');
      spec = undefined;
    }
    const ippools = spec?.ippools;
    if (spec !== undefined && spec !== null && ippools !== undefined && ippools !== null) {
      if (!isObj(ippools)) {
        d.add('spec.ippools', 'an object', ippools, 'the gateway has no pool');
        spec = { ...spec, ippools: undefined };
      } else {
        const fixed: Obj = { ...ippools };
        let changed = false;
        for (const family of ['ipv4', 'ipv6'] as const) {
          const list = ippools[family];
          if (list === undefined || list === null) continue;
          if (!Array.isArray(list)) {
            d.add(`spec.ippools.${family}`, 'a list of strings', list, 'that pool is empty');
            fixed[family] = [];
            changed = true;
          } else if (!list.every((e) => typeof e === 'string')) {
            // Kept in place (entry positions name entries in problems), as text no parser accepts.
            fixed[family] = list.map((e) => (typeof e === 'string' ? e : invalidText(e)));
            changed = true;
          }
        }
        for (const field of ['ipv4DefaultEIP', 'ipv6DefaultEIP'] as const) {
          const v = ippools[field];
          if (v !== undefined && v !== null && typeof v !== 'string') {
            d.add(`spec.ippools.${field}`, 'a string', v, 'it is ignored');
            fixed[field] = undefined;
            changed = true;
          }
        }
        if (changed) spec = { ...spec, ippools: fixed };
      }
    }
    let status = raw.status;
    let nodeList: unknown;
    if (status === null) status = undefined;
    if (status !== undefined && !isObj(status)) {
      d.add('status', 'an object', status, 'the status is written again');
      status = undefined;
      nodeList = markRewrite([]);
    } else if (status !== undefined) {
      nodeList = guardNodeList((status as Obj).nodeList, d);
    }
    const statusChanged = nodeList !== (status as Obj | undefined)?.nodeList;
    if (d.messages.length === 0 && spec === raw.spec && !statusChanged)
      return { value: raw as EgressGatewayLike, problems: NONE };
    const value: Obj = { ...raw, spec };
    if (statusChanged) value.status = { ...(status as Obj | undefined), nodeList };
    return { value: value as EgressGatewayLike, problems: toProblems('EgressGateway', name, d) };
  });
}

function markRewrite<T extends object>(list: T): T {
  repaired.add(list);
  return list;
}

/**
 * A written `status.nodeList` with only its well-formed parts (the same list when it is all
 * well-formed). One problem per list says how many defects it had and the first of them: a hostile
 * status with thousands of bad entries must not produce thousands of problems.
 */
function guardNodeList(list: unknown, d: Defects): unknown {
  if (list === undefined || list === null) return list;
  if (!Array.isArray(list)) {
    d.add('status.nodeList', 'a list', list, 'the status is written again');
    return markRewrite([]);
  }
  let first: string | null = null;
  let count = 0;
  const defect = (field: string, expected: string, got: unknown) => {
    count++;
    first ??= `${field} must be ${expected}, got ${describeValue(got)}`;
  };
  const out: GatewayNodeLike[] = [];
  for (let i = 0; i < list.length; i++) {
    const n = list[i] as unknown;
    if (!isObj(n)) {
      defect(`status.nodeList[${i}]`, 'an object', n);
      continue;
    }
    if (typeof n.name !== 'string') {
      defect(`status.nodeList[${i}].name`, 'a string', n.name);
      continue;
    }
    let node = n as unknown as GatewayNodeLike;
    if (n.status !== undefined && n.status !== null && typeof n.status !== 'string') {
      defect(`status.nodeList[${i}].status`, 'a string', n.status);
      node = { ...node, status: '' };
    }
    const eips = n.eips;
    if (eips !== undefined && eips !== null && !Array.isArray(eips)) {
      defect(`status.nodeList[${i}].eips`, 'a list', eips);
      node = { ...node, eips: [] };
    } else if (eips !== undefined && eips !== null) {
      const good: Array<NonNullable<GatewayNodeLike['eips']>[number]> = [];
      for (let j = 0; j < eips.length; j++) {
        const e = eips[j] as unknown;
        const at = `status.nodeList[${i}].eips[${j}]`;
        if (!isObj(e)) {
          defect(at, 'an object', e);
          continue;
        }
        if (e.ipv4 !== undefined && e.ipv4 !== null && typeof e.ipv4 !== 'string') {
          defect(`${at}.ipv4`, 'a string', e.ipv4);
          continue;
        }
        if (e.ipv6 !== undefined && e.ipv6 !== null && typeof e.ipv6 !== 'string') {
          defect(`${at}.ipv6`, 'a string', e.ipv6);
          continue;
        }
        const refs = e.policies;
        if (refs !== undefined && refs !== null && !Array.isArray(refs)) {
          defect(`${at}.policies`, 'a list', refs);
          good.push({ ...(e as object), policies: [] });
          continue;
        }
        const isRef = (r: unknown) =>
          isObj(r) &&
          typeof r.name === 'string' &&
          (r.namespace === undefined || typeof r.namespace === 'string');
        const bad = refs === undefined || refs === null ? -1 : refs.findIndex((r: unknown) => !isRef(r));
        if (refs !== undefined && refs !== null && bad !== -1) {
          defect(`${at}.policies[${bad}]`, 'an object { name, namespace }', refs[bad]);
          good.push({ ...(e as object), policies: refs.filter(isRef) });
          continue;
        }
        good.push(e as NonNullable<GatewayNodeLike['eips']>[number]);
      }
      if (good.length !== eips.length || good.some((e, j) => e !== eips[j])) node = { ...node, eips: good };
    }
    out.push(node);
  }
  if (count === 0) return list;
  d.messages.push(
    `${first}${count > 1 ? ` (and ${count - 1} more defects)` : ''}; the status is written again`,
  );
  return markRewrite(out);
}

const nodeMemo = new WeakMap<object, Guarded<NodeLike>>();

/** A Node as the engine may read it. */
export function guardNode(raw: unknown): Guarded<NodeLike> {
  if (!isObj(raw)) return notAnObject('Node', 'state.nodes', raw);
  return memoised(nodeMemo, raw, () => {
    const d = new Defects();
    const meta = metadataOf(raw, d);
    if (!meta.ok) return { value: NAMELESS, problems: toProblems('Node', meta.name, d) };
    const m = raw.metadata as Obj | undefined;
    let value: Obj = raw;
    const labels = m?.labels;
    if (labels !== undefined && labels !== null) {
      if (!isObj(labels)) {
        d.add('metadata.labels', 'an object', labels, 'the node has no labels');
        value = { ...value, metadata: { ...m, labels: {} } };
      } else if (!Object.values(labels).every((v) => typeof v === 'string')) {
        d.add('metadata.labels', 'a map of strings', labels, 'labels that are not strings are ignored');
        const fixed = Object.fromEntries(Object.entries(labels).filter(([, v]) => typeof v === 'string'));
        value = { ...value, metadata: { ...m, labels: fixed } };
      }
    }
    const status = raw.status;
    if (status !== undefined && status !== null && !isObj(status)) {
      d.add('status', 'an object', status, 'the node counts as Ready with no address');
      value = { ...value, status: {} };
    } else if (status !== undefined && status !== null) {
      let fixed: Obj | null = null;
      for (const [field, keys] of [
        ['conditions', ['type', 'status']],
        ['addresses', ['type', 'address']],
      ] as const) {
        const list = status[field];
        if (list === undefined || list === null) continue;
        if (!Array.isArray(list)) {
          d.add(`status.${field}`, 'a list', list, 'it is ignored');
          fixed = { ...(fixed ?? status), [field]: [] };
          continue;
        }
        const bad = list.findIndex((e: unknown) => !isObj(e) || keys.some((k) => typeof e[k] !== 'string'));
        if (bad === -1) continue;
        d.add(
          `status.${field}[${bad}]`,
          `an object with string ${keys.join(' and ')}`,
          list[bad],
          'it is ignored',
        );
        const good = list.filter((e: unknown) => isObj(e) && keys.every((k) => typeof e[k] === 'string'));
        fixed = { ...(fixed ?? status), [field]: good };
      }
      if (fixed !== null) value = { ...value, status: fixed };
    }
    return value === raw
      ? { value: raw as NodeLike, problems: NONE }
      : { value: value as NodeLike, problems: toProblems('Node', meta.name, d) };
  });
}

function toProblems(kind: EgressKind, name: string, d: Defects, namespace?: string): readonly EgressEvent[] {
  return d.messages.map((m) => inputProblem(kind, name, m, namespace));
}

export function notAnObject<T>(kind: EgressKind, list: string, raw: unknown): Guarded<T> {
  return {
    value: NAMELESS as T,
    problems: [
      inputProblem(kind, '', `${list} holds ${describeValue(raw)} where an object belongs; it is ignored`),
    ],
  };
}

type NamespaceLabels = NonNullable<EgressState['namespaceLabels']>;

/** `namespaceLabels` with only maps of strings (the same object when it is well-formed). */
export function guardNamespaceLabels(raw: unknown): Guarded<NamespaceLabels | undefined> {
  if (raw === undefined || raw === null) return { value: undefined, problems: NONE };
  if (!isObj(raw))
    return {
      value: undefined,
      problems: [
        inputProblem(
          'EgressPolicy',
          '',
          `state.namespaceLabels must be an object, got ${describeValue(raw)}; it is ignored`,
        ),
      ],
    };
  let fixed: Record<string, Record<string, string>> | null = null;
  const problems: EgressEvent[] = [];
  for (const [ns, labels] of Object.entries(raw)) {
    const ok = isObj(labels) && Object.values(labels).every((v) => typeof v === 'string');
    if (ok) continue;
    fixed ??= { ...(raw as Record<string, Record<string, string>>) };
    problems.push(
      inputProblem(
        'EgressPolicy',
        '',
        `state.namespaceLabels.${ns} must be a map of strings, got ${describeValue(labels)}; it is ignored`,
        ns,
      ),
    );
    if (isObj(labels))
      fixed[ns] = Object.fromEntries(
        Object.entries(labels).filter(([, v]) => typeof v === 'string'),
      ) as Record<string, string>;
    else delete fixed[ns];
  }
  return fixed === null ? { value: raw as NamespaceLabels, problems: NONE } : { value: fixed, problems };
}

/** The five lists of a state (a list that is missing or not a list counts as empty, with a problem). */
export interface StateLists {
  readonly gateways: readonly unknown[];
  readonly nodes: readonly unknown[];
  readonly tunnels: readonly unknown[];
  readonly policies: readonly unknown[];
  readonly clusterPolicies: readonly unknown[];
  readonly namespaceLabels: unknown;
  /** Problems of the state itself (lists missing or not lists). */
  readonly problems: readonly EgressEvent[];
}

const LISTS = [
  ['gateways', 'EgressGateway'],
  ['nodes', 'Node'],
  ['tunnels', 'EgressTunnel'],
  ['policies', 'EgressPolicy'],
  ['clusterPolicies', 'EgressClusterPolicy'],
] as const;

const EMPTY: readonly unknown[] = Object.freeze([]);

/** The lists of a state, whatever was passed as the state (checked on every call: five type tests). */
export function stateLists(state: unknown): StateLists {
  const s: Obj = isObj(state) ? state : {};
  let problems: EgressEvent[] | null = null;
  const lists: Record<string, readonly unknown[]> = {};
  for (const [key, kind] of LISTS) {
    const v = s[key];
    if (Array.isArray(v)) {
      lists[key] = v;
      continue;
    }
    lists[key] = EMPTY;
    problems ??= [];
    problems.push(
      inputProblem(kind, '', `state.${key} must be a list, got ${describeValue(v)}; it counts as empty`),
    );
  }
  return {
    gateways: lists.gateways as readonly unknown[],
    nodes: lists.nodes as readonly unknown[],
    tunnels: lists.tunnels as readonly unknown[],
    policies: lists.policies as readonly unknown[],
    clusterPolicies: lists.clusterPolicies as readonly unknown[],
    namespaceLabels: s.namespaceLabels,
    problems: problems ?? NONE,
  };
}

/**
 * Guards a list of objects incrementally: an entry that is the very same object as at the same
 * position last time is taken as guarded then (a pointer comparison), so a reconcile after a few
 * replaced objects costs what comparing the lists costs. Allocation is kept to the one copy of the
 * list that the caller needs anyway (the caller may reuse its array): while every entry is
 * well-formed, the guarded list is that copy. (A list of 20 000 entries is a large object for V8:
 * every extra copy per reconcile costs about a millisecond.)
 */
export class ListGuard<T> {
  private raw: readonly unknown[] = EMPTY;
  private guarded: readonly T[] = [];
  /** Problems by position, only for the positions that have some. */
  private problemsAt: ReadonlyMap<number, readonly EgressEvent[]> | null = null;

  constructor(private readonly guard: (raw: unknown) => Guarded<T>) {}

  /**
   * A copy of the list as given (`raw`), the guarded list (positions unchanged; the same array as
   * `raw` when every entry is well-formed) and the problems of its entries.
   */
  update(given: readonly unknown[]): {
    readonly raw: readonly unknown[];
    readonly list: readonly T[];
    readonly problems: EgressEvent[];
  } {
    const raw = given.slice();
    const prev = this.raw;
    const prevGuarded = this.guarded;
    const prevProblems = this.problemsAt;
    let list: T[] | null = null;
    let problemsAt: Map<number, readonly EgressEvent[]> | null = null;
    const problems: EgressEvent[] = [];
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i];
      let value: T;
      let p: readonly EgressEvent[] | undefined;
      if (i < prev.length && r === prev[i]) {
        value = prevGuarded[i] as T;
        p = prevProblems?.get(i);
      } else {
        const g = this.guard(r);
        value = g.value;
        p = g.problems.length === 0 ? undefined : g.problems;
      }
      if (list === null && value !== r) list = raw.slice(0, i) as T[];
      if (list !== null) list.push(value);
      if (p !== undefined) {
        problemsAt ??= new Map();
        problemsAt.set(i, p);
        problems.push(...p);
      }
    }
    const guarded = list ?? (raw as readonly T[]);
    this.raw = raw;
    this.guarded = guarded;
    this.problemsAt = problemsAt;
    return { raw, list: guarded, problems };
  }
}

/**
 * What the engine reads of one tunnel entry, checked on every call (tunnels change with every
 * heartbeat): `null` when the entry is not usable, with a problem pushed to `problems`.
 */
export function tunnelEntry(t: unknown, problems: EgressEvent[]): TunnelObservation | null {
  if (!isObj(t)) {
    problems.push(
      inputProblem(
        'EgressTunnel',
        '',
        `state.tunnels holds ${describeValue(t)} where an object belongs; it is ignored`,
      ),
    );
    return null;
  }
  const tunnel = t.tunnel;
  if (!isObj(tunnel)) {
    problems.push(
      inputProblem(
        'EgressTunnel',
        '',
        `state.tunnels[].tunnel must be an object, got ${describeValue(tunnel)}; the entry is ignored`,
      ),
    );
    return null;
  }
  const name = (tunnel.metadata as Obj | undefined)?.name;
  if (name !== undefined && typeof name !== 'string') {
    problems.push(
      inputProblem(
        'EgressTunnel',
        '',
        `metadata.name must be a string, got ${describeValue(name)}; the entry is ignored`,
      ),
    );
    return null;
  }
  const observedAt = t.observedAt;
  if (observedAt !== null && (typeof observedAt !== 'number' || !Number.isFinite(observedAt))) {
    problems.push(
      inputProblem(
        'EgressTunnel',
        (name as string | undefined) ?? '',
        `observedAt must be a finite number of ms or null, got ${describeValue(observedAt)}; it counts as no heartbeat`,
      ),
    );
    return { ...(t as unknown as TunnelObservation), observedAt: null };
  }
  return t as unknown as TunnelObservation;
}

/**
 * Checks the shape of a label selector (`null` when well-formed), so that a selector of the wrong
 * shape selects nothing with a problem instead of reaching the matcher.
 */
export function selectorShapeProblem(selector: object): string | null {
  const s = selector as Obj;
  const labels = s.matchLabels;
  if (labels !== undefined && labels !== null) {
    if (!isObj(labels)) return `matchLabels must be an object, got ${describeValue(labels)}`;
    for (const [k, v] of Object.entries(labels))
      if (typeof v !== 'string') return `matchLabels.${k} must be a string, got ${describeValue(v)}`;
  }
  const exprs = s.matchExpressions;
  if (exprs === undefined || exprs === null) return null;
  if (!Array.isArray(exprs)) return `matchExpressions must be a list, got ${describeValue(exprs)}`;
  for (let i = 0; i < exprs.length; i++) {
    const e: unknown = exprs[i];
    if (!isObj(e)) return `matchExpressions[${i}] must be an object, got ${describeValue(e)}`;
    if (typeof e.key !== 'string')
      return `matchExpressions[${i}].key must be a string, got ${describeValue(e.key)}`;
    if (typeof e.operator !== 'string')
      return `matchExpressions[${i}].operator must be a string, got ${describeValue(e.operator)}`;
    const values = e.values;
    if (values === undefined || values === null) continue;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string'))
      return `matchExpressions[${i}].values must be a list of strings, got ${describeValue(values)}`;
  }
  return null;
}
