/**
 * The admission webhook end to end: the embedded API server calls the controller's webhook (the
 * configurations have the chart's shape: a Service on port 5822, failure policy Fail), and
 * kubectl prints what a user sees.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { EGRESS_GATEWAYS, EGRESS_POLICIES } from '@egressgateway/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type RunningController, webhookConfigurations } from '../src/index.js';
import {
  baseObjects,
  type Case,
  defaultCases,
  dualDefaults,
  invalidCases,
  noDefaultCases,
  type Obj,
} from './admission-cases.js';
import { kubectl } from './kubectl.js';
import {
  freePort,
  NS,
  SERVICE,
  startWebhookCluster,
  startWebhookController,
  type WebhookCluster,
} from './webhook-cluster.js';

const SECRETS = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
const CONFIG = 'egressgateway';

/** The chart's two configurations (templates/webhook.yaml), with a given failure policy. */
const configurations = (failurePolicy: 'Fail' | 'Ignore') =>
  webhookConfigurations({ namespace: NS, service: SERVICE, name: CONFIG, failurePolicy });

const yamlOf = (objects: readonly object[]) => objects.map((o) => stringify(o)).join('---\n');

/** Every line kubectl printed about `name` (quoted as kube-apiserver quotes it). */
const linesAbout = (out: string, name: string) => out.split('\n').filter((l) => l.includes(`"${name}"`));

type Cluster = WebhookCluster;

const startCluster = (webhookPort: number) => startWebhookCluster(webhookPort, 'egw-admission-');
const startController = (c: Cluster, port: number, extra: Record<string, unknown> = {}) =>
  startWebhookController(c.server, port, extra);

/** Applies `objects` in one kubectl call and asserts each case's object was refused naming its field. */
async function expectRefused(c: Cluster, cases: readonly Case[]) {
  const r = await kubectl(c.kubeconfig, ['apply', '-f', '-'], yamlOf(cases.map((x) => x.object)));
  expect(r.code).not.toBe(0);
  const problems: string[] = [];
  for (const x of cases) {
    const lines = linesAbout(r.out, x.object.metadata.name).join('\n');
    const refused = /Error from server|denied the request|is invalid/.test(lines);
    if (!refused || !lines.includes(x.field))
      problems.push(`${x.rule} (${x.object.metadata.name}, ${x.field}):\n  ${lines || '(accepted)'}`);
  }
  expect(problems, r.out).toEqual([]);
  return r.out;
}

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { timeout: 20_000 }).status === 0;
if (!hasKubectl) console.log('skipping the admission e2e tests: no kubectl on PATH (.ci/run installs it)');

describe.skipIf(!hasKubectl)('admission webhook, end to end with kubectl', () => {
  let c: Cluster;
  let ctl: RunningController;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    c = await startCluster(port);
    for (const conf of configurations('Fail')) await c.objects.create(conf as never);
    ctl = await startController(c, port);
  }, 60_000);

  afterAll(async () => {
    await ctl?.stop();
    await c?.server.close();
    if (c) rmSync(c.dir, { recursive: true, force: true });
  });

  it('writes the CA bundle into both configurations', async () => {
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const r = await kubectl(c.kubeconfig, [
        'get',
        kind,
        CONFIG,
        '-o',
        'jsonpath={.webhooks[*].clientConfig.caBundle}',
      ]);
      expect(Buffer.from(r.out.split(' ')[0] ?? '', 'base64').toString()).toContain('BEGIN CERTIFICATE');
    }
  });

  it('refuses, with the field path, every case of the table (more than 60 objects)', async () => {
    const base = await kubectl(
      c.kubeconfig,
      ['apply', '-f', '-'],
      yamlOf([...baseObjects(), dualDefaults()]),
    );
    expect(base.code, base.out).toBe(0);
    // Mutation: defaults written at create.
    const gw = await c.client.get<Obj & { spec: { ippools: Record<string, unknown> } }>(
      EGRESS_GATEWAYS,
      'base',
    );
    expect(gw.spec.ippools.ipv4DefaultEIP).toMatch(/^198\.18\.7\./);
    const used = await c.client.get<Obj>(EGRESS_POLICIES, 'used', 'team');
    expect(used.spec?.egressIP).toEqual({ useNodeIP: false, allocatorPolicy: 'default' });

    await expectRefused(c, noDefaultCases());
    const cases = invalidCases();
    const befores = cases.flatMap((x) => (x.before ? [x.before] : []));
    const created = await kubectl(c.kubeconfig, ['apply', '-f', '-'], yamlOf(befores));
    expect(created.code, created.out).toBe(0);
    const out = await expectRefused(c, cases);
    const { first, cases: second } = defaultCases();
    expect((await kubectl(c.kubeconfig, ['apply', '-f', '-'], yamlOf([first]))).code).toBe(0);
    await expectRefused(c, second);
    expect(cases.length + noDefaultCases().length + second.length).toBeGreaterThanOrEqual(60);
    // The user's view: kube-apiserver's prefix, then our message with the fix.
    expect(out).toMatch(
      /admission webhook "validate\.egressgateway\.spidernet\.io" denied the request: EgressGateway "bad-\d+" is invalid: spec\.ippools/,
    );
    // A policy without a gateway in a labelled namespace got that gateway written at create.
    const labelled = await kubectl(
      c.kubeconfig,
      ['apply', '-f', '-'],
      yamlOf([
        {
          apiVersion: 'egressgateway.spidernet.io/v1beta1',
          kind: 'EgressPolicy',
          metadata: { name: 'by-label', namespace: 'team' },
          spec: { appliedTo: { podSelector: { matchLabels: { app: 'x' } } } },
        },
      ]),
    );
    expect(labelled.code, labelled.out).toBe(0);
    expect((await c.client.get<Obj>(EGRESS_POLICIES, 'by-label', 'team')).spec?.egressGatewayName).toBe(
      'base',
    );
  }, 120_000);

  it('refuses deleting a gateway that policies name, and EgressClusterInfo/default', async () => {
    const gw = await kubectl(c.kubeconfig, ['delete', 'egressgateway', 'base']);
    expect(gw.code).not.toBe(0);
    expect(gw.out).toMatch(
      /EgressGateway "base" is forbidden: 7 policies name this gateway \(EgressClusterPolicy upd-node, EgressPolicy team\/by-label, .* and 2 more\): delete them/,
    );
    // The leader creates EgressClusterInfo/default; wait for it.
    for (let i = 0; i < 100; i++) {
      if ((await kubectl(c.kubeconfig, ['get', 'egressclusterinfo', 'default'])).code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const info = await kubectl(c.kubeconfig, ['delete', 'egressclusterinfo', 'default']);
    expect(info.code).not.toBe(0);
    expect(info.out).toContain('cannot be deleted');
  });
});

const policyObj = (name: string, gateway = 'g') => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressPolicy',
  metadata: { name, namespace: 'default' },
  spec: { egressGatewayName: gateway, appliedTo: { podSelector: { matchLabels: { app: name } } } },
});
const gatewayObj = (name: string, ip: string) => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressGateway',
  metadata: { name },
  spec: { ippools: { ipv4: [ip] }, nodeSelector: { selector: { matchLabels: { egress: 'true' } } } },
});

describe.skipIf(!hasKubectl)('admission webhook: availability and certificates', () => {
  it('Fail refuses with the API server message while no replica answers; Ignore admits', async () => {
    const port = await freePort();
    const c = await startCluster(port);
    try {
      for (const conf of configurations('Fail')) await c.objects.create(conf as never);
      const down = await kubectl(
        c.kubeconfig,
        ['apply', '-f', '-'],
        yamlOf([gatewayObj('g1', '198.18.20.1')]),
      );
      expect(down.code).not.toBe(0);
      expect(down.out).toContain('failed calling webhook "mutate.egressgateway.spidernet.io"');
      for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
        const patch = await kubectl(c.kubeconfig, [
          'patch',
          kind,
          CONFIG,
          '--type=json',
          '-p',
          '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]',
        ]);
        expect(patch.code, patch.out).toBe(0);
      }
      const ignored = await kubectl(
        c.kubeconfig,
        ['apply', '-f', '-'],
        yamlOf([gatewayObj('g1', '198.18.20.1')]),
      );
      expect(ignored.code, ignored.out).toBe(0);
    } finally {
      await c.server.close();
      rmSync(c.dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("accepts the seed document's EgressGateway and a policy on it, with the defaults written", async () => {
    const port = await freePort();
    const c = await startCluster(port);
    const ctl = await (async () => {
      for (const conf of configurations('Fail')) await c.objects.create(conf as never);
      return startController(c, port);
    })();
    try {
      const seed = new URL('../../crds/test/fixtures/seed-egressgateway.yaml', import.meta.url).pathname;
      const gw = await kubectl(c.kubeconfig, ['apply', '-f', seed]);
      expect(gw.code, gw.out).toBe(0);
      const p = await kubectl(c.kubeconfig, ['apply', '-f', '-'], yamlOf([policyObj('seed-policy', 'egw1')]));
      expect(p.code, p.out).toBe(0);
      const stored = await c.client.get<Obj>(EGRESS_POLICIES, 'seed-policy', 'default');
      expect(stored.spec?.egressIP).toEqual({ useNodeIP: false, allocatorPolicy: 'default' });
    } finally {
      await ctl.stop();
      await c.server.close();
      rmSync(c.dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('keeps answering through a leader change and through certificate and CA rotations', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    // The Service leads to replica B; A leads first, then stops.
    const c = await startCluster(pb);
    const replicas: RunningController[] = [];
    try {
      for (const conf of configurations('Fail')) await c.objects.create(conf as never);
      // 2 s certificates (CA 20 s), so the run sees several renewals and a CA rotation.
      replicas.push(await startController(c, pa, { webhookCertValidity: 2 }));
      replicas.push(
        await startController(c, pb, {
          webhookCertValidity: 2,
          leaderElectionLeaseDuration: 2,
          leaderElectionRenewDeadline: 1.5,
          leaderElectionRetryPeriod: 0.5,
        }),
      );
      await c.client.create(EGRESS_GATEWAYS, gatewayObj('g', '198.18.21.1') as never);
      const failures: string[] = [];
      const certs = new Set<string>();
      const issuers = new Set<string>();
      const started = Date.now();
      let i = 0;
      while (Date.now() - started < 25_000) {
        if (i === 20) await replicas[0]?.stop(); // the leader goes away mid-run
        try {
          await c.client.create(EGRESS_POLICIES, policyObj(`p${i}`) as never);
        } catch (err) {
          failures.push(`p${i}: ${String((err as Error).message)}`);
        }
        const served = await peerCertificate(pb);
        certs.add(served.fingerprint256);
        issuers.add(await issuerOf(c, served));
        i++;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(failures).toEqual([]);
      expect(i).toBeGreaterThan(100);
      // Not vacuous: replica B served many certificates, from more than one CA.
      expect(certs.size).toBeGreaterThan(5);
      expect(issuers.size).toBeGreaterThan(1);
      expect(issuers.has('unknown')).toBe(false);
    } finally {
      for (const r of replicas) await r.stop();
      await c.server.close();
      rmSync(c.dir, { recursive: true, force: true });
    }
  }, 90_000);
});

/** The certificate a TLS server presents. */
function peerCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(cert);
      else reject(new Error('no peer certificate'));
    });
    socket.on('error', reject);
  });
}

/** Fingerprint of the CA in the webhook Secret that signed `cert` (or `unknown`). */
async function issuerOf(c: Cluster, cert: X509Certificate): Promise<string> {
  const secret = await c.client.get<{ metadata?: object; data: Record<string, string> }>(
    SECRETS,
    'egressgateway-webhook-ca',
    NS,
  );
  const pems =
    Buffer.from(secret.data['ca.crt'] ?? '', 'base64')
      .toString()
      .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  for (const pem of pems) {
    const ca = new X509Certificate(pem);
    if (cert.checkIssued(ca) && cert.verify(ca.publicKey)) return ca.fingerprint256;
  }
  return 'unknown';
}
