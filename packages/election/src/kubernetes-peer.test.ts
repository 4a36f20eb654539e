import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

// Without the optional peer @kubernetes/client-node, fromKubeConfig must say which package and
// which versions to install instead of a bare module-not-found error.
vi.mock('@kubernetes/client-node', () => {
  throw new Error("Cannot find package '@kubernetes/client-node'");
});

describe('KubernetesLeaseLock without @kubernetes/client-node', () => {
  it('fromKubeConfig names the missing peer and its version range', async () => {
    const { KubernetesLeaseLock, CLIENT_NODE_RANGE } = await import('./kubernetes.js');
    const peer = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ).peerDependencies;
    expect(CLIENT_NODE_RANGE).toBe(peer['@kubernetes/client-node']);
    const err = await KubernetesLeaseLock.fromKubeConfig({} as never, {
      namespace: 'kube-system',
      name: 'x',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_ELECTION_PEER_MISSING' });
    expect((err as Error).message).toContain(`@kubernetes/client-node (${CLIENT_NODE_RANGE};`);
    expect((err as Error).message).toContain('npm install @kubernetes/client-node');
  });
});
