import type { PrinterColumn, ResourceInfo } from './resources.js';
import { isJsonObject, type JsonValue, type KubeObject } from './types.js';

/** A column definition of a `meta.k8s.io/v1` Table. */
export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** One Table row: cells plus the row's object metadata (kubectl needs it for `-A` and `--show-labels`). */
export interface TableRow {
  cells: JsonValue[];
  object: { kind: 'PartialObjectMetadata'; apiVersion: 'meta.k8s.io/v1'; metadata: KubeObject['metadata'] };
}

/** A server-side printed Table. */
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion: string; continue?: string };
  columnDefinitions: TableColumn[] | null;
  rows: TableRow[];
}

const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';

/**
 * Formats an age the way the API server's Table printer does ("49s", "7m1s", "3h", "5d2h").
 * `ms` is the elapsed time in milliseconds.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const d = Math.floor(hours / 24) % 365;
    return d === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${d}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

type PathStep =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'filter'; key: string[]; value: string };

/** Parses the JSONPath subset printer columns use: `.a.b`, `.a[0]`, `.a[?(@.type=="Ready")].status`. */
export function parseJsonPath(expr: string): PathStep[] {
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  if (s.startsWith('$')) s = s.slice(1);
  const steps: PathStep[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === '.') {
      i++;
      let name = '';
      while (i < s.length && s[i] !== '.' && s[i] !== '[') {
        if (s[i] === '\\' && i + 1 < s.length) {
          name += s[i + 1];
          i += 2;
        } else {
          name += s[i];
          i++;
        }
      }
      if (name !== '') steps.push({ kind: 'field', name });
    } else if (s[i] === '[') {
      const end = s.indexOf(']', i);
      if (end < 0) return steps;
      const inner = s.slice(i + 1, end).trim();
      const filter = /^\?\(@\.([\w.]+)\s*==\s*["']?([^"')]*)["']?\)$/.exec(inner);
      if (filter !== null)
        steps.push({ kind: 'filter', key: (filter[1] as string).split('.'), value: filter[2] as string });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'.*'$/.test(inner) || /^".*"$/.test(inner))
        steps.push({ kind: 'field', name: inner.slice(1, -1) });
      i = end + 1;
    } else {
      i++;
    }
  }
  return steps;
}

/** Evaluates a printer-column JSONPath; `undefined` when the value is missing. */
export function evalJsonPath(obj: JsonValue, steps: readonly PathStep[]): JsonValue | undefined {
  let cur: JsonValue | undefined = obj;
  for (const st of steps) {
    if (cur === undefined || cur === null) return undefined;
    if (st.kind === 'field') {
      cur = isJsonObject(cur) ? cur[st.name] : undefined;
    } else if (st.kind === 'index') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[st.index < 0 ? cur.length + st.index : st.index];
    } else {
      if (!Array.isArray(cur)) return undefined;
      cur = cur.find((el) => {
        let x: JsonValue | undefined = el;
        for (const k of st.key) x = isJsonObject(x) ? x[k] : undefined;
        return x !== undefined && x !== null && String(x) === st.value;
      });
    }
  }
  return cur;
}

interface ColumnSpec {
  def: TableColumn;
  cell: (o: KubeObject, nowMs: number) => JsonValue;
}

function age(o: KubeObject, nowMs: number): JsonValue {
  const t = o.metadata.creationTimestamp;
  return t === undefined ? '<unknown>' : humanDuration(nowMs - Date.parse(t));
}

function col(
  name: string,
  type: string,
  description: string,
  cell: ColumnSpec['cell'],
  priority = 0,
  format = '',
): ColumnSpec {
  return { def: { name, type, format, description, priority }, cell };
}

const nameCol = col('Name', 'string', NAME_DESCRIPTION, (o) => o.metadata.name ?? '', 0, 'name');
const ageCol = col(
  'Age',
  'string',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
  age,
);

function at(o: KubeObject, path: string): JsonValue | undefined {
  return evalJsonPath(o as unknown as JsonValue, parseJsonPath(path));
}

function str(v: JsonValue | undefined, dflt = '<none>'): string {
  return v === undefined || v === null || v === '' ? dflt : String(v);
}

function nodeStatus(o: KubeObject): string {
  const ready = at(o, '.status.conditions[?(@.type=="Ready")].status');
  const base = ready === 'True' ? 'Ready' : ready === undefined ? 'Unknown' : 'NotReady';
  return at(o, '.spec.unschedulable') === true ? `${base},SchedulingDisabled` : base;
}

function nodeRoles(o: KubeObject): string {
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .sort();
  return roles.length === 0 ? '<none>' : roles.join(',');
}

function nodeAddress(o: KubeObject, type: string): string {
  return str(at(o, `.status.addresses[?(@.type=="${type}")].address`));
}

function podReady(o: KubeObject): string {
  const specs = at(o, '.spec.containers');
  const statuses = at(o, '.status.containerStatuses');
  const total = Array.isArray(specs) ? specs.length : 0;
  const ready = Array.isArray(statuses)
    ? statuses.filter((s) => isJsonObject(s) && s.ready === true).length
    : 0;
  return `${ready}/${total}`;
}

function podRestarts(o: KubeObject): JsonValue {
  const statuses = at(o, '.status.containerStatuses');
  if (!Array.isArray(statuses)) return 0;
  return statuses.reduce<number>(
    (n, s) => n + (isJsonObject(s) && typeof s.restartCount === 'number' ? s.restartCount : 0),
    0,
  );
}

function eventColumns(objectField: string, lastPath: string, messagePath: string): ColumnSpec[] {
  const lastSeen = (o: KubeObject, nowMs: number): JsonValue => {
    const t = at(o, lastPath) ?? at(o, '.eventTime') ?? o.metadata.creationTimestamp;
    return typeof t === 'string' ? humanDuration(nowMs - Date.parse(t)) : '<unknown>';
  };
  return [
    col('Last Seen', 'string', 'Time since the event was last seen', lastSeen),
    col('Type', 'string', 'Event type', (o) => str(at(o, '.type'), '')),
    col('Reason', 'string', 'Event reason', (o) => str(at(o, '.reason'), '')),
    col('Object', 'string', 'The object the event is about', (o) => {
      const kind = str(at(o, `.${objectField}.kind`), '');
      const name = str(at(o, `.${objectField}.name`), '');
      return `${kind.toLowerCase()}/${name}`;
    }),
    col('Message', 'string', 'Event message', (o) => str(at(o, messagePath), '')),
  ];
}

const BUILTIN_COLUMNS: Record<string, ColumnSpec[]> = {
  '/namespaces': [
    nameCol,
    col('Status', 'string', 'The status of the namespace', (o) => str(at(o, '.status.phase'), 'Active')),
    ageCol,
  ],
  '/nodes': [
    nameCol,
    col('Status', 'string', 'The status of the node', nodeStatus),
    col('Roles', 'string', 'The roles of the node', nodeRoles),
    ageCol,
    col('Version', 'string', 'Kubelet Version reported by the node.', (o) =>
      str(at(o, '.status.nodeInfo.kubeletVersion'), ''),
    ),
    col(
      'Internal-IP',
      'string',
      'List of internal IPs (if any) for the node.',
      (o) => nodeAddress(o, 'InternalIP'),
      1,
    ),
    col(
      'External-IP',
      'string',
      'List of external IPs (if any) for the node.',
      (o) => nodeAddress(o, 'ExternalIP'),
      1,
    ),
    col(
      'OS-Image',
      'string',
      'OS image reported by the node.',
      (o) => str(at(o, '.status.nodeInfo.osImage'), '<unknown>'),
      1,
    ),
    col(
      'Kernel-Version',
      'string',
      'Kernel version reported by the node.',
      (o) => str(at(o, '.status.nodeInfo.kernelVersion'), '<unknown>'),
      1,
    ),
    col(
      'Container-Runtime',
      'string',
      'Container runtime version.',
      (o) => str(at(o, '.status.nodeInfo.containerRuntimeVersion'), '<unknown>'),
      1,
    ),
  ],
  '/pods': [
    nameCol,
    col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.', podReady),
    col('Status', 'string', 'The aggregate status of the containers in this pod.', (o) =>
      str(at(o, '.status.phase'), 'Pending'),
    ),
    col(
      'Restarts',
      'string',
      'The number of times the containers in this pod have been restarted.',
      podRestarts,
    ),
    ageCol,
    col('IP', 'string', 'The IP address assigned to the pod', (o) => str(at(o, '.status.podIP')), 1),
    col(
      'Node',
      'string',
      'The name of the node this pod is assigned to',
      (o) => str(at(o, '.spec.nodeName')),
      1,
    ),
  ],
  '/configmaps': [
    nameCol,
    col('Data', 'integer', 'Number of keys in the config map.', (o) => {
      const d = at(o, '.data');
      const b = at(o, '.binaryData');
      return (isJsonObject(d) ? Object.keys(d).length : 0) + (isJsonObject(b) ? Object.keys(b).length : 0);
    }),
    ageCol,
  ],
  '/events': eventColumns('involvedObject', '.lastTimestamp', '.message'),
  'events.k8s.io/events': eventColumns('regarding', '.deprecatedLastTimestamp', '.note'),
  'coordination.k8s.io/leases': [
    nameCol,
    col('Holder', 'string', 'The holder of the lease', (o) => str(at(o, '.spec.holderIdentity'), '')),
    ageCol,
  ],
  'apiextensions.k8s.io/customresourcedefinitions': [
    nameCol,
    col('Created At', 'date', 'The time the CRD was created', (o) => o.metadata.creationTimestamp ?? null),
  ],
};

function crdColumns(cols: readonly PrinterColumn[]): ColumnSpec[] {
  return cols.map((c) => {
    const steps = parseJsonPath(c.jsonPath);
    return col(
      c.name,
      c.type,
      c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
      (o, nowMs) => {
        const v = evalJsonPath(o as unknown as JsonValue, steps);
        if (v === undefined || v === null) return null;
        if (c.type === 'date' && typeof v === 'string') return humanDuration(nowMs - Date.parse(v));
        if (isJsonObject(v) || Array.isArray(v)) return JSON.stringify(v);
        return v;
      },
      c.priority ?? 0,
      c.format ?? '',
    );
  });
}

function columnsFor(info: ResourceInfo): ColumnSpec[] {
  if (info.custom) {
    const extra = info.printerColumns ?? [];
    const ageSpec = col('Age', 'date', ageCol.def.description, age);
    return [nameCol, ...(extra.length === 0 ? [ageSpec] : crdColumns(extra))];
  }
  return BUILTIN_COLUMNS[info.storageKey] ?? [nameCol, ageCol];
}

/**
 * Builds a Table of `objects` for `info` (built-in printers for the core kinds, the CRD's
 * `additionalPrinterColumns` for custom resources). `withColumns: false` sets
 * `columnDefinitions: null`, as the server does after the first watch event.
 */
export function buildTable(
  info: ResourceInfo,
  objects: readonly KubeObject[],
  resourceVersion: string,
  nowMs: number,
  withColumns = true,
): Table {
  const cols = columnsFor(info);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: withColumns ? cols.map((c) => c.def) : null,
    rows: objects.map((o) => ({
      cells: cols.map((c) => c.cell(o, nowMs)),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
