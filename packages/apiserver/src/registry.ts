import type { StatusCause } from './errors.js';
import { BUILTIN_RESOURCES, type PrinterColumn, type ResourceInfo } from './resources.js';
import { type CompiledSchema, compileSchema } from './schema.js';
import { isJsonObject, type JsonObject, type KubeObject } from './types.js';

/** A served resource in one version, with its compiled schema for custom resources. */
export interface ServedResource {
  info: ResourceInfo;
  schema?: CompiledSchema;
}

/** One group as discovery lists it: versions in preference order. */
export interface ServedGroup {
  group: string;
  versions: { version: string; resources: ResourceInfo[] }[];
}

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Checks a CRD object; returns the causes of a 422 (empty when valid). */
export function validateCrd(crd: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = isJsonObject(crd.spec) ? crd.spec : {};
  const names = isJsonObject(spec.names) ? spec.names : {};
  const req = (field: string) =>
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field });
  if (typeof spec.group !== 'string' || spec.group === '') req('spec.group');
  if (typeof names.plural !== 'string' || names.plural === '') req('spec.names.plural');
  else if (!DNS_LABEL.test(names.plural)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${names.plural}": a lowercase RFC 1123 label is required`,
      field: 'spec.names.plural',
    });
  }
  if (typeof names.kind !== 'string' || names.kind === '') req('spec.names.kind');
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(spec.scope ?? '')}: supported values: "Cluster", "Namespaced"`,
      field: 'spec.scope',
    });
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) req('spec.versions');
  const storage = versions.filter((v) => isJsonObject(v) && v.storage === true).length;
  if (versions.length > 0 && storage !== 1) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(spec.versions)}: must have exactly one version marked as storage version`,
      field: 'spec.versions',
    });
  }
  versions.forEach((v, i) => {
    if (!isJsonObject(v) || typeof v.name !== 'string' || v.name === '') req(`spec.versions[${i}].name`);
  });
  if (
    typeof spec.group === 'string' &&
    typeof names.plural === 'string' &&
    crd.metadata.name !== `${names.plural}.${spec.group}`
  ) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${crd.metadata.name ?? ''}": must be spec.names.plural+"."+spec.group`,
      field: 'metadata.name',
    });
  }
  return causes;
}

/** Builds the served resources (one per served version) of a valid CRD. */
export function resourcesOfCrd(crd: KubeObject): ServedResource[] {
  const spec = crd.spec as JsonObject;
  const names = spec.names as JsonObject;
  const group = spec.group as string;
  const plural = names.plural as string;
  const kind = names.kind as string;
  const out: ServedResource[] = [];
  for (const v of spec.versions as JsonObject[]) {
    if (v.served === false) continue;
    const schemaRaw =
      isJsonObject(v.schema) && isJsonObject(v.schema.openAPIV3Schema) ? v.schema.openAPIV3Schema : undefined;
    const subs = isJsonObject(v.subresources) ? v.subresources : {};
    const info: ResourceInfo = {
      group,
      version: v.name as string,
      resource: plural,
      singular:
        typeof names.singular === 'string' && names.singular !== '' ? names.singular : kind.toLowerCase(),
      kind,
      listKind: typeof names.listKind === 'string' && names.listKind !== '' ? names.listKind : `${kind}List`,
      namespaced: spec.scope === 'Namespaced',
      shortNames: Array.isArray(names.shortNames)
        ? names.shortNames.filter((s): s is string => typeof s === 'string')
        : [],
      hasStatus: isJsonObject(subs.status),
      printerColumns: Array.isArray(v.additionalPrinterColumns)
        ? (v.additionalPrinterColumns as unknown as PrinterColumn[])
        : [],
      fieldLabels: Array.isArray(v.selectableFields)
        ? v.selectableFields.flatMap((f) =>
            isJsonObject(f) && typeof f.jsonPath === 'string' ? [f.jsonPath.replace(/^\./, '')] : [],
          )
        : [],
      custom: true,
      storageKey: `${group}/${plural}`,
    };
    if (schemaRaw !== undefined) info.schema = schemaRaw;
    out.push(schemaRaw === undefined ? { info } : { info, schema: compileSchema(schemaRaw) });
  }
  return out;
}

/**
 * The set of resources the server serves: the built-ins plus those of every stored CRD. Discovery,
 * OpenAPI and routing all read from here, so a CRD is served as soon as it is stored.
 */
export class Registry {
  private readonly crds = new Map<string, ServedResource[]>();
  private byPath = new Map<string, ServedResource>();
  /** Bumped on every change; discovery and OpenAPI documents are cached per generation. */
  generation = 0;

  constructor() {
    this.rebuild();
  }

  /** Serves (or re-serves) the resources of a stored CRD. */
  setCrd(crd: KubeObject): void {
    this.crds.set(crd.metadata.name ?? '', resourcesOfCrd(crd));
    this.rebuild();
  }

  /** Stops serving the resources of a CRD. */
  removeCrd(name: string): void {
    this.crds.delete(name);
    this.rebuild();
  }

  /** The served resource at `/<group>/<version>/<resource>`, if any. */
  lookup(group: string, version: string, resource: string): ServedResource | undefined {
    return this.byPath.get(`${group}/${version}/${resource}`);
  }

  /** True when some resource is served in this group-version. */
  hasGroupVersion(group: string, version: string): boolean {
    return this.groups().some((g) => g.group === group && g.versions.some((v) => v.version === version));
  }

  /** Groups in discovery order (core first, then built-in groups, then CRD groups by name). */
  groups(): ServedGroup[] {
    const order: string[] = [];
    const byGroup = new Map<string, Map<string, ResourceInfo[]>>();
    for (const s of this.byPath.values()) {
      const g = s.info.group;
      if (!byGroup.has(g)) {
        byGroup.set(g, new Map());
        order.push(g);
      }
      const vs = byGroup.get(g) as Map<string, ResourceInfo[]>;
      const list = vs.get(s.info.version) ?? [];
      list.push(s.info);
      vs.set(s.info.version, list);
    }
    return order.map((group) => ({
      group,
      versions: [...(byGroup.get(group) as Map<string, ResourceInfo[]>).entries()]
        .sort(([a], [b]) => compareVersions(a, b))
        .map(([version, resources]) => ({ version, resources })),
    }));
  }

  /** Every served resource (all versions). */
  all(): ServedResource[] {
    return [...this.byPath.values()];
  }

  private rebuild(): void {
    const m = new Map<string, ServedResource>();
    for (const info of BUILTIN_RESOURCES) m.set(`${info.group}/${info.version}/${info.resource}`, { info });
    const names = [...this.crds.keys()].sort();
    for (const n of names) {
      for (const s of this.crds.get(n) ?? []) {
        const k = `${s.info.group}/${s.info.version}/${s.info.resource}`;
        if (!m.has(k)) m.set(k, s);
      }
    }
    this.byPath = m;
    this.generation++;
  }
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (m === null) return undefined;
    const stage = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa === undefined || pb === undefined)
    return pa !== undefined ? -1 : pb !== undefined ? 1 : a.localeCompare(b);
  return pb[0] - pa[0] || pb[1] - pa[1] || pb[2] - pa[2];
}
