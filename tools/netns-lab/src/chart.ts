import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CHART_NAMESPACE } from './in-cluster.js';

/**
 * The chart's kinds the lab creates as `helm install` would (RBAC, the admission webhook
 * configurations, and the gateway peers' key Secret when peers are on) and their collection paths
 * (namespaced ones in the chart's namespace). The workloads are the lab's own processes and
 * containers, started with what {@link chartPod} reads from the chart.
 */
const OBJECT_PATHS: Record<string, string> = {
  ValidatingWebhookConfiguration: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
  MutatingWebhookConfiguration: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
  ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
  Role: `/apis/rbac.authorization.k8s.io/v1/namespaces/${CHART_NAMESPACE}/roles`,
  RoleBinding: `/apis/rbac.authorization.k8s.io/v1/namespaces/${CHART_NAMESPACE}/rolebindings`,
  Secret: `/api/v1/namespaces/${CHART_NAMESPACE}/secrets`,
};

/**
 * `helm template` of `charts/egressgateway` into the chart's namespace, as `helm install` would
 * render it (pinned Helm of tools/toolchain), with the default values changed by `set` (`--set
 * key=value` each). Throws with the fix when Helm is missing or the chart does not render.
 */
export function renderChart(repoRoot: string, set: Record<string, string> = {}): string {
  const helm = join(repoRoot, 'tools', 'toolchain', 'bin', 'helm');
  if (!existsSync(helm))
    throw new Error(
      `helm is missing at ${helm}: run "node tools/toolchain/install.mjs" (needs Debian's unzip)`,
    );
  const sets = Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const r = spawnSync(
    helm,
    [
      'template',
      'egressgateway',
      join(repoRoot, 'charts', 'egressgateway'),
      '--namespace',
      CHART_NAMESPACE,
      ...sets,
    ],
    { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`helm template charts/egressgateway: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * The chart's Roles, ClusterRoles, bindings, webhook configurations and Secrets with the path each
 * is created at (pure).
 */
export function chartClusterObjects(
  rendered: string,
): Array<{ path: string; object: Record<string, unknown> }> {
  const out: Array<{ path: string; object: Record<string, unknown> }> = [];
  for (const doc of parseAllDocuments(rendered)) {
    const o = doc.toJS() as { kind?: string } | null;
    const path = o?.kind === undefined ? undefined : OBJECT_PATHS[o.kind];
    if (o && path) out.push({ path, object: o as Record<string, unknown> });
  }
  return out;
}

/** What the lab takes from the chart's pod of an app to run its container the same way. */
export interface ChartPod {
  /** Environment with literal values (`value:`). */
  env: Record<string, string>;
  /** Environment from the downward API: variable name -> `fieldRef.fieldPath`. */
  fieldEnv: Record<string, string>;
  /** `resources.limits` of the container, as Kubernetes quantities (`500m`, `192Mi`). */
  limits: { cpu?: string; memory?: string };
}

interface RenderedContainer {
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  resources?: { limits?: { cpu?: string | number; memory?: string } };
}

/**
 * The environment and limits of the app's container in the rendered chart (the agent's DaemonSet,
 * the controller's Deployment; pure). Throws when the chart has no such workload, or sets a
 * variable from a source the lab cannot give (a Secret or ConfigMap key).
 */
export function chartPod(rendered: string, app: 'controller' | 'agent'): ChartPod {
  const kind = app === 'agent' ? 'DaemonSet' : 'Deployment';
  const name = `egressgateway-${app}`;
  for (const doc of parseAllDocuments(rendered)) {
    const o = doc.toJS() as {
      kind?: string;
      metadata?: { name?: string };
      spec?: { template?: { spec?: { containers?: Array<RenderedContainer & { name: string }> } } };
    } | null;
    if (o?.kind !== kind || o.metadata?.name !== name) continue;
    const c = o.spec?.template?.spec?.containers?.find((x) => x.name === app);
    if (!c) throw new Error(`the chart's ${kind} ${name} has no container named ${app}`);
    const pod: ChartPod = { env: {}, fieldEnv: {}, limits: {} };
    for (const e of c.env ?? []) {
      if (e.value !== undefined) pod.env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef) pod.fieldEnv[e.name] = e.valueFrom.fieldRef.fieldPath;
      else
        throw new Error(
          `the chart's ${app} sets ${e.name} from a source the lab cannot give: ${JSON.stringify(e.valueFrom)}`,
        );
    }
    const limits = c.resources?.limits;
    if (limits?.cpu !== undefined) pod.limits.cpu = String(limits.cpu);
    if (limits?.memory !== undefined) pod.limits.memory = limits.memory;
    return pod;
  }
  throw new Error(`the rendered chart has no ${kind} ${name}`);
}

/**
 * podman's `--cpus` for a Kubernetes CPU quantity (`500m` -> `0.5`, `1` -> `1`; pure). The kubelet
 * turns a limit into the same CFS quota per 100 ms period that podman sets.
 */
export function podmanCpus(quantity: string): string {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity);
  if (!m) throw new Error(`CPU limit "${quantity}" is not a plain or milli quantity (e.g. 500m, 1)`);
  const cores = m[2] === 'm' ? Number(m[1]) / 1000 : Number(m[1]);
  return String(cores);
}

/** podman's `--memory` for a Kubernetes memory quantity in Ki, Mi or Gi (`192Mi` -> `192m`; pure). */
export function podmanMemory(quantity: string): string {
  const m = /^(\d+)(Ki|Mi|Gi)$/.exec(quantity);
  if (!m) throw new Error(`memory limit "${quantity}" is not in Ki, Mi or Gi (e.g. 192Mi)`);
  return `${m[1]}${(m[2] as string)[0]?.toLowerCase()}`;
}
