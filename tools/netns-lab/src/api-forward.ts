import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { sleep } from './exec.js';
import type { LabPlan } from './plan.js';
import type { ProcessSet } from './processes.js';

/** The host side of the path to the API server. */
export interface ApiForward {
  /** Loopback URL in the host namespace that reaches the API server. */
  url: string;
  /** Kubeconfig file for kubectl in the host namespace (valid while the forward runs). */
  kubeconfig: string;
  close(): void;
}

/** A kubeconfig for a plain-HTTP server, with a bearer token when the server wants one (pure). */
export function hostKubeconfigYaml(url: string, token?: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: lab, cluster: {server: "${url}"}}]`,
    `users: [{name: lab, user: {${token === undefined ? '' : `token: "${token}"`}}}]`,
    'contexts: [{name: lab, context: {cluster: lab, user: lab}}]',
    'current-context: lab',
    '',
  ].join('\n');
}

/**
 * Reaches the API server in the control namespace without touching the host's network: a helper
 * in `ctl` listens on a Unix socket in the run folder (files are visible from every namespace)
 * and this process listens on a loopback port of the host and pipes each connection to it.
 * With `tls` (images mode: the API server serves HTTPS) the helper speaks TLS to the server,
 * verified against the CA in `tls.caFile`, and the host side stays plain HTTP; `tls.token` goes
 * into the host kubeconfig.
 */
export async function startApiForward(
  procs: ProcessSet,
  plan: LabPlan,
  runDir: string,
  helper: string,
  tls?: { caFile: string; token: string },
): Promise<ApiForward> {
  const sock = join(runDir, 'api.sock');
  let ready = false;
  procs.start({
    name: 'api-forward',
    ns: plan.ctl,
    command: process.execPath,
    args: [helper, sock, plan.api4, String(plan.apiPort), ...(tls ? [tls.caFile] : [])],
    onLine: (l) => {
      if (l === 'ready') ready = true;
    },
  });
  for (let i = 0; i < 200 && !ready; i++) await sleep(50);
  if (!ready) throw new Error(`the API forwarder did not start; see ${join(runDir, 'api-forward.log')}`);
  const server = net.createServer((c) => {
    const u = net.connect(sock);
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const kubeconfig = join(runDir, 'kubeconfig-host');
  writeFileSync(kubeconfig, hostKubeconfigYaml(url, tls?.token), { mode: 0o600 });
  return { url, kubeconfig, close: () => server.close() };
}
