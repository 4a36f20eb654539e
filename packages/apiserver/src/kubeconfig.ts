import { stringify } from 'yaml';

/** A kubeconfig document (the fields this server fills in). */
export interface KubeconfigDoc {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: { name: string; cluster: Record<string, string | boolean> }[];
  users: { name: string; user: Record<string, string> }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace: string } }[];
  'current-context': string;
  preferences: Record<string, never>;
}

/**
 * Builds the kubeconfig for a server at `url`. Plain HTTP needs `insecure-skip-tls-verify: true`:
 * client-node 1.4 refuses `http://` servers without it.
 */
export function buildKubeconfig(
  url: string,
  opts: { token?: string; caPem?: string; name?: string },
): KubeconfigDoc {
  const name = opts.name ?? 'egw-apiserver';
  const cluster: Record<string, string | boolean> = { server: url };
  if (opts.caPem !== undefined)
    cluster['certificate-authority-data'] = Buffer.from(opts.caPem).toString('base64');
  else cluster['insecure-skip-tls-verify'] = true;
  const user: Record<string, string> = opts.token === undefined ? {} : { token: opts.token };
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  };
}

/** YAML text of a kubeconfig. */
export function kubeconfigYaml(doc: KubeconfigDoc): string {
  return stringify(doc);
}
