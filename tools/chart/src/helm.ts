import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { chartDir, repoRoot } from './paths.mjs';

/** The pinned Helm binary (tools/toolchain; the root `npm ci` extracts it). */
export const helmPath = join(repoRoot, 'tools', 'toolchain', 'bin', 'helm');

/** A rendered Kubernetes object, loosely typed for assertions. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read field by field in tests
  [key: string]: any;
}

/** Runs helm with an argument array; returns status and output. Throws when Helm is missing. */
export function helm(args: string[]): { status: number; stdout: string; stderr: string } {
  if (!existsSync(helmPath))
    throw new Error(
      `helm is missing at ${helmPath}: run "node tools/toolchain/install.mjs" (needs Debian's unzip)`,
    );
  const r = spawnSync(helmPath, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs helm without blocking the event loop: needed when the API server Helm talks to runs in
 * this process (a `spawnSync` would leave it unable to answer). Kills Helm after `timeoutMs`.
 */
export function helmAsync(
  args: string[],
  timeoutMs = 120_000,
): Promise<{ status: number; stdout: string; stderr: string }> {
  if (!existsSync(helmPath))
    throw new Error(
      `helm is missing at ${helmPath}: run "node tools/toolchain/install.mjs" (needs Debian's unzip)`,
    );
  return new Promise((resolve, reject) => {
    const child = spawn(helmPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\nkilled after ${timeoutMs} ms`;
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
  });
}

/** Writes values to a temp file for `-f`. */
export function valuesFile(values: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'egw-chart-')), 'values.yaml');
  writeFileSync(path, JSON.stringify(values));
  return path;
}

/**
 * `helm template` of the chart with value files and `--set` pairs; the objects, or the error
 * text when Helm refuses the values.
 */
export function render(o: { files?: string[]; set?: string[]; namespace?: string } = {}): {
  objects: K8sObject[];
  error: string | undefined;
  text: string;
} {
  const args = ['template', 'egw', chartDir, '--namespace', o.namespace ?? 'egressgateway'];
  for (const f of o.files ?? []) args.push('-f', f);
  for (const s of o.set ?? []) args.push('--set', s);
  const r = helm(args);
  if (r.status !== 0) return { objects: [], error: r.stderr, text: r.stdout };
  const objects = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((x): x is K8sObject => x !== null);
  return { objects, error: undefined, text: r.stdout };
}

/** The one object of a kind (and name suffix); throws with what exists otherwise. */
export function one(objects: K8sObject[], kind: string, nameEnd = ''): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameEnd));
  if (found.length !== 1)
    throw new Error(
      `expected one ${kind} *${nameEnd}, found ${found.length} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  return found[0] as K8sObject;
}
