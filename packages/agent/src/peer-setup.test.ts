import { type ApiServer, startApiServer } from '@egressgateway/apiserver';
import { KubeClient, type ResourceRef, silentLogger } from '@egressgateway/kube';
import { DEFAULT_PEER_TIMING } from '@egressgateway/peers';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerKeyWatcher } from './peer-keys.js';
import { PeerSettingsError, peerTiming } from './peer-setup.js';

const base = {
  peerAdvertPeriodMs: 50,
  peerDeadIntervalMs: 200,
  peerLeaseMs: 150,
  peerRejoinDelayMs: 0,
  eipEvictionTimeoutMs: 15_000,
  fenceMarginMs: 500,
  tunnelUpdatePeriodMs: 5_000,
};

describe('peerTiming', () => {
  it("takes P, D and L from the peer settings and E, M and the apiOk window from the agent's", () => {
    expect(peerTiming(base)).toEqual({
      ...DEFAULT_PEER_TIMING,
      evictionTimeoutMs: 15_000,
      fenceMarginMs: 500,
      apiOkWindowMs: 6_000,
    });
  });

  it('shortens the apiOk window so that peers report an outage before the holder fences on the API', () => {
    // E - M = 1.1 s, U = 0.2 s: the window ends 0.2 s + 2 P before the fence.
    expect(
      peerTiming({ ...base, eipEvictionTimeoutMs: 1_500, fenceMarginMs: 400, tunnelUpdatePeriodMs: 200 })
        .apiOkWindowMs,
    ).toBe(800);
  });

  it('refuses an unsafe lease, naming the setting, its flag and the fix', () => {
    let err: unknown;
    try {
      peerTiming({ ...base, peerLeaseMs: 190 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PeerSettingsError);
    expect((err as PeerSettingsError).setting).toBe('peerLease');
    expect((err as Error).message).toMatch(/change peerLease \(--peer-lease, seconds\)/);
    expect((err as Error).message).toMatch(/lower leaseMs to at most 176/);
  });

  it('takes the rejoin delay J when it is set (0 leaves it out) and refuses one too short to rely on a read', () => {
    expect(peerTiming({ ...base, peerRejoinDelayMs: 1_000 }).rejoinDelayMs).toBe(1_000);
    expect('rejoinDelayMs' in peerTiming(base)).toBe(false);
    expect(() => peerTiming({ ...base, peerRejoinDelayMs: 50 })).toThrow(
      /change peerRejoinDelay \(--peer-rejoin-delay, seconds\)/,
    );
  });

  it('refuses an advert period too long for the lease', () => {
    expect(() => peerTiming({ ...base, peerAdvertPeriodMs: 100 })).toThrow(
      /change peerAdvertPeriod \(--peer-advert-period, seconds\)/,
    );
  });
});

const SECRETS: ResourceRef = {
  group: '',
  version: 'v1',
  plural: 'secrets',
  kind: 'Secret',
  namespaced: true,
};
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

describe('PeerKeyWatcher against the embedded API server', () => {
  let server: ApiServer;
  let client: KubeClient;

  beforeAll(async () => {
    server = await startApiServer({});
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
    client = new KubeClient(kc);
  });
  afterAll(async () => {
    await server.close();
  });

  const eventually = async (what: string, probe: () => boolean) => {
    for (let i = 0; i < 500 && !probe(); i++) await new Promise((r) => setTimeout(r, 10));
    if (!probe()) throw new Error(`timed out waiting for ${what}`);
  };

  it('has no key without the Secret, loads it when created, rotates without a restart, and drops it when deleted', async () => {
    const changes: string[][] = [];
    const w = new PeerKeyWatcher({
      client,
      namespace: 'default',
      name: 'egressgateway-peer-key',
      log: silentLogger,
      onChange: (keys) => changes.push(keys.map((k) => k.id)),
    });
    await w.start();
    expect(w.keys()).toEqual([]);
    // Another Secret of the namespace is not ours.
    await client.create(SECRETS, {
      metadata: { name: 'other', namespace: 'default' },
      data: { k9: b64(Buffer.alloc(32, 9)) },
    } as never);
    await client.create(SECRETS, {
      metadata: { name: 'egressgateway-peer-key', namespace: 'default' },
      data: { k1: b64(Buffer.alloc(32, 1)) },
    } as never);
    await eventually('key loaded', () => w.keys().length === 1);
    expect(w.keys()[0]?.id).toBe('k1');
    await client.patchMerge(SECRETS, 'egressgateway-peer-key', 'default', {
      data: { k2: b64(Buffer.alloc(32, 2)), active: b64('k1') },
    });
    await eventually('second key', () => w.keys().length === 2);
    expect(w.keys().map((k) => k.id)).toEqual(['k1', 'k2']);
    await client.patchMerge(SECRETS, 'egressgateway-peer-key', 'default', { data: { active: b64('k2') } });
    await eventually('k2 signs', () => w.keys()[0]?.id === 'k2');
    await client.delete(SECRETS, 'egressgateway-peer-key', 'default');
    await eventually('keys gone', () => w.keys().length === 0);
    expect(changes).toEqual([[], ['k1'], ['k1', 'k2'], ['k2', 'k1'], []]);
    await w.stop();
  });
});

describe('PeerKeyWatcher without permission to read Secrets', () => {
  it('does not watch, has no key, and says which rule is missing', async () => {
    const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
    const log = {
      ...silentLogger,
      warn: (fields: object, msg: string) => lines.push({ fields: fields as Record<string, unknown>, msg }),
      child: () => log,
    };
    const forbidden = {
      list: async () => {
        throw Object.assign(new Error('secrets is forbidden'), { code: 403, statusCode: 403 });
      },
      listWatch: () => ({ list: async () => ({ items: [] }), watch: async () => {} }),
    } as unknown as KubeClient;
    const w = new PeerKeyWatcher({
      client: forbidden,
      namespace: 'egw',
      name: 'egressgateway-peer-key',
      log,
    });
    await w.start();
    expect(w.keys()).toEqual([]);
    expect(lines.map((l) => l.msg)).toEqual([
      'gateway peers off: the peer key secret may not be read, api fencing decides',
    ]);
    expect(lines[0]?.fields).toMatchObject({ secret: 'egw/egressgateway-peer-key', status: 403 });
    expect(String(lines[0]?.fields.fix)).toMatch(
      /get, list and watch on secrets named egressgateway-peer-key in egw/,
    );
    await w.stop();
  });
});
