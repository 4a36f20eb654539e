import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CHART_NAMESPACE } from './in-cluster.js';

/**
 * The chart's kinds the lab creates as `helm install` would (RBAC and the admission webhook
 * configurations) and their collection paths (namespaced ones in the chart's namespace). The
 * workloads are the lab's own processes and containers.
 */
const RBAC_PATHS: Record<string, string> = {
  ValidatingWebhookConfiguration: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
  MutatingWebhookConfiguration: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
  ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
  Role: `/apis/rbac.authorization.k8s.io/v1/namespaces/${CHART_NAMESPACE}/roles`,
  RoleBinding: `/apis/rbac.authorization.k8s.io/v1/namespaces/${CHART_NAMESPACE}/rolebindings`,
};

/**
 * `helm template` of `charts/egressgateway` into the chart's namespace with its default values, as
 * `helm install` would render it (pinned Helm of tools/toolchain). Throws with the fix when Helm is
 * missing or the chart does not render.
 */
export function renderChart(repoRoot: string): string {
  const helm = join(repoRoot, 'tools', 'toolchain', 'bin', 'helm');
  if (!existsSync(helm))
    throw new Error(
      `helm is missing at ${helm}: run "node tools/toolchain/install.mjs" (needs Debian's unzip)`,
    );
  const r = spawnSync(
    helm,
    ['template', 'egressgateway', join(repoRoot, 'charts', 'egressgateway'), '--namespace', CHART_NAMESPACE],
    { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`helm template charts/egressgateway: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The chart's Roles, ClusterRoles, bindings and webhook configurations with the path each is created at (pure). */
export function chartRbacObjects(rendered: string): Array<{ path: string; object: Record<string, unknown> }> {
  const out: Array<{ path: string; object: Record<string, unknown> }> = [];
  for (const doc of parseAllDocuments(rendered)) {
    const o = doc.toJS() as { kind?: string } | null;
    const path = o?.kind === undefined ? undefined : RBAC_PATHS[o.kind];
    if (o && path) out.push({ path, object: o as Record<string, unknown> });
  }
  return out;
}
