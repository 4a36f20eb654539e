import { mapConfigDocument } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { helm, type K8sObject, one, render, valuesFile } from '../src/helm.js';
import { chartDir } from '../src/paths.mjs';

const confOf = (objects: K8sObject[]) => parse(one(objects, 'ConfigMap').data['conf.yml']);
const container = (o: K8sObject) => o.spec.template.spec.containers[0];

describe('helm lint', () => {
  it('passes --strict with the default values', () => {
    const r = helm(['lint', '--strict', chartDir]);
    expect(r.stdout + r.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.status).toBe(0);
  });
});

describe('helm template, default values', () => {
  const { objects, error } = render();

  it('renders without error', () => expect(error).toBeUndefined());

  it('controller: 2 replicas spread over nodes, a PDB of 1, probes on the health port, restricted security', () => {
    const d = one(objects, 'Deployment', '-controller');
    expect(d.spec.replicas).toBe(2);
    const term =
      d.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0];
    expect(term.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(one(objects, 'PodDisruptionBudget').spec.minAvailable).toBe(1);
    const c = container(d);
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.args).toContain('--health-address=0.0.0.0:5820');
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    // Leader election in the release namespace, on upstream's Lease name.
    expect(c.args).toContain('--leader-election-namespace=egressgateway');
    expect(c.args).toContain('--leader-election-name=egressgateway');
    expect(c.image).toBe('ghcr.io/egressgateway-ts/egressgateway-controller:0.1.0');
  });

  it('agent: host network, NET_ADMIN and NET_RAW only, one node at a time, time for the handover', () => {
    const ds = one(objects, 'DaemonSet', '-agent');
    const spec = ds.spec.template.spec;
    expect(spec.hostNetwork).toBe(true);
    const c = container(ds);
    expect(c.securityContext.privileged).toBe(false);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    expect(ds.spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(1);
    expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
    // The handover takes at most eviction + 3 s (wait for the move, then 1 s of forwarding).
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      confOf(objects).gatewayFailover.eipEvictionTimeout + 3,
    );
    const env = Object.fromEntries(
      c.env.map((e: { name: string; value?: string }) => [e.name, e.value ?? 'ref']),
    );
    expect(env.CONFIGMAP_PATH).toBe('/tmp/config-map/conf.yml');
    expect(c.env.find((e: { name: string }) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath).toBe(
      'spec.nodeName',
    );
  });

  it("conf.yml is upstream's layout and every key in it takes effect in the apps", () => {
    const mapped = mapConfigDocument(confOf(objects));
    expect(mapped.notApplied).toEqual([]);
    expect(mapped.values).toEqual({
      tunnelIpv4Cidr: '172.31.0.0/16',
      tunnelIpv6Cidr: '',
      tunnelDevice: 'egress.vxlan',
      tunnelPort: 7789,
      tunnelVni: 100,
      tunnelMonitorPeriod: 5,
      tunnelUpdatePeriod: 1,
      eipEvictionTimeout: 3,
      gatewayFailover: true,
    });
  });

  it('no ServiceMonitor and no agent Service unless asked', () => {
    expect(objects.filter((o) => o.kind === 'ServiceMonitor')).toEqual([]);
    expect(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toEqual([
      'egressgateway-controller',
    ]);
  });
});

describe('helm template, admission webhook', () => {
  const { objects } = render();
  const hooks = (kind: string) => one(objects, kind).webhooks as Array<Record<string, any>>;

  it('validating and mutating configurations call the controller Service on its webhook port', () => {
    const svc = one(objects, 'Service', '-controller');
    const port = svc.spec.ports.find((p: { name: string }) => p.name === 'webhook');
    expect(port).toEqual({ name: 'webhook', port: 5822, targetPort: 'webhook', protocol: 'TCP' });
    const c = container(one(objects, 'Deployment', '-controller'));
    expect(c.ports).toContainEqual({ name: 'webhook', containerPort: 5822, protocol: 'TCP' });
    expect(c.args).toEqual(
      expect.arrayContaining([
        '--webhook-address=0.0.0.0:5822',
        `--webhook-service=${svc.metadata.name}`,
        '--webhook-configuration=egressgateway',
        '--webhook-secret=egressgateway-webhook-ca',
      ]),
    );
    for (const [kind, path] of [
      ['ValidatingWebhookConfiguration', '/validate'],
      ['MutatingWebhookConfiguration', '/mutate'],
    ] as const) {
      expect(one(objects, kind).metadata.name).toBe('egressgateway');
      for (const h of hooks(kind)) {
        expect(h.clientConfig).toEqual({
          service: { name: svc.metadata.name, namespace: 'egressgateway', path, port: 5822 },
        });
        expect(h.clientConfig.caBundle).toBeUndefined(); // the controllers write it
        expect([h.sideEffects, h.admissionReviewVersions, h.timeoutSeconds]).toEqual(['None', ['v1'], 5]);
      }
    }
  });

  it('Fail for gateways and policies; Ignore for EgressClusterInfo, which the chart itself creates', () => {
    const v = hooks('ValidatingWebhookConfiguration');
    const byResource = new Map<string, string>();
    for (const h of v)
      for (const r of h.rules) for (const res of r.resources) byResource.set(res, h.failurePolicy);
    expect(Object.fromEntries(byResource)).toEqual({
      egressgateways: 'Fail',
      egresspolicies: 'Fail',
      egressclusterpolicies: 'Fail',
      egressclusterinfos: 'Ignore',
    });
    expect(objects.some((o) => o.kind === 'EgressClusterInfo')).toBe(true);
    // No status subresource: the controller's own status writes never wait for admission.
    const all = [...v, ...hooks('MutatingWebhookConfiguration')].flatMap((h) =>
      h.rules.flatMap((r: any) => r.resources),
    );
    expect(all.filter((r: string) => r.includes('/'))).toEqual([]);
  });

  it('RBAC: the CA Secret and the two configurations by name only', () => {
    const role = objects.find(
      (o) => o.kind === 'Role' && o.metadata.name.endsWith('-controller-leader-election'),
    );
    expect(role?.rules).toContainEqual({
      apiGroups: [''],
      resources: ['secrets'],
      resourceNames: ['egressgateway-webhook-ca'],
      verbs: ['get', 'patch'],
    });
    const cr = one(objects, 'ClusterRole', '-controller');
    expect(cr.rules).toContainEqual({
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations'],
      resourceNames: ['egressgateway'],
      verbs: ['get', 'patch'],
    });
  });

  it('RBAC: heartbeat Leases in the release namespace only: agents create, renew and re-read; the controller watches and marks', () => {
    const agentRole = objects.find((o) => o.kind === 'Role' && o.metadata.name.endsWith('-agent-heartbeat'));
    expect(agentRole?.metadata.namespace).toBe(
      objects.find((o) => o.kind === 'Deployment')?.metadata.namespace,
    );
    expect(agentRole?.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'patch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] },
    ]);
    const binding = objects.find(
      (o) => o.kind === 'RoleBinding' && o.metadata.name.endsWith('-agent-heartbeat'),
    );
    expect(binding?.subjects).toEqual([
      expect.objectContaining({ kind: 'ServiceAccount', name: expect.stringContaining('agent') }),
    ]);
    // No cluster-wide Lease access for the agent.
    expect(JSON.stringify(one(objects, 'ClusterRole', '-agent').rules)).not.toContain('leases');
    const controllerRole = objects.find(
      (o) => o.kind === 'Role' && o.metadata.name.endsWith('-controller-leader-election'),
    );
    expect(controllerRole?.rules).toContainEqual({
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      verbs: ['list', 'watch'],
    });
    expect(controllerRole?.rules).toContainEqual({
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      verbs: ['patch', 'delete'],
    });
  });

  it('off: no configurations, no port, no flags, no rules for them', () => {
    const off = render({ set: ['controller.webhook.enabled=false'] }).objects;
    expect(off.filter((o) => o.kind.endsWith('WebhookConfiguration'))).toEqual([]);
    expect(container(one(off, 'Deployment', '-controller')).args.join(' ')).not.toContain('--webhook');
    // The controller's roles (the agent reads the peer key Secret, see the gateway peers test).
    const controllerRoles = off.filter(
      (o) => o.kind.endsWith('Role') && o.metadata.name.includes('-controller'),
    );
    expect(controllerRoles.length).toBeGreaterThan(0);
    expect(JSON.stringify(controllerRoles)).not.toMatch(/secrets|webhookconfigurations/);
  });

  it('gateway peers (on by default): the agents read the key Secret by name only and the chart creates it; off removes all', () => {
    const objects = render().objects;
    const agentRole = one(objects, 'ClusterRole', '-agent');
    expect(agentRole.rules).toContainEqual({
      apiGroups: [''],
      resources: ['secrets'],
      resourceNames: ['egressgateway-peer-key'],
      verbs: ['get', 'list', 'watch'],
    });
    expect(agentRole.rules).toContainEqual({
      apiGroups: ['egressgateway.spidernet.io'],
      resources: ['egressgateways'],
      verbs: ['get'],
    });
    const key = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'egressgateway-peer-key');
    expect(Buffer.from(key?.data.k1, 'base64').length).toBeGreaterThanOrEqual(32);
    const env = container(one(objects, 'DaemonSet', '-agent')).env;
    expect(env).toContainEqual({ name: 'EGW_PEERS', value: 'true' });
    expect(env).toContainEqual({ name: 'EGW_PEER_PORT', value: '7790' });
    const off = render({ set: ['agent.peers.enabled=false'] }).objects;
    expect(container(one(off, 'DaemonSet', '-agent')).env).toContainEqual({
      name: 'EGW_PEERS',
      value: 'false',
    });
    expect(JSON.stringify(off.filter((o) => o.kind.endsWith('Role')))).not.toMatch(/peer-key/);
    expect(off.filter((o) => o.kind === 'Secret' && o.metadata.name === 'egressgateway-peer-key')).toEqual(
      [],
    );
    expect(render({ set: ['agent.peers.port=0'] }).error).toContain('port');
    // createKey false: the Secret is the user's (docs/operations.md), the agents still read it.
    const own = render({ set: ['agent.peers.createKey=false'] }).objects;
    expect(own.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(JSON.stringify(one(own, 'ClusterRole', '-agent').rules)).toMatch(/peer-key/);
  });

  it('Ignore as a value; a wrong failurePolicy is refused by the schema', () => {
    const ignore = render({ set: ['controller.webhook.failurePolicy=Ignore'] }).objects;
    expect(one(ignore, 'MutatingWebhookConfiguration').webhooks[0].failurePolicy).toBe('Ignore');
    expect(render({ set: ['controller.webhook.failurePolicy=Maybe'] }).error).toContain('failurePolicy');
  });
});

describe('helm template, value sets', () => {
  it("failover switch off (upstream's default): rendered, and it reaches the controller as node-ready mode", () => {
    const { objects, error } = render({ set: ['feature.gatewayFailover.enable=false'] });
    expect(error).toBeUndefined();
    const mapped = mapConfigDocument(confOf(objects));
    expect(mapped.notApplied).toEqual([]);
    expect(mapped.values.gatewayFailover).toBe(false);
  });

  it('IPv4 only by default, dual stack with enableIPv6', () => {
    const v4 = mapConfigDocument(confOf(render().objects)).values;
    expect(v4.tunnelIpv6Cidr).toBe('');
    const dual = mapConfigDocument(
      confOf(render({ set: ['feature.enableIPv6=true', 'feature.tunnelIpv6Subnet=fd00:ff::/112'] }).objects),
    ).values;
    expect(dual.tunnelIpv6Cidr).toBe('fd00:ff::/112');
  });

  it('custom images: registry override, tag, digest', () => {
    const { objects } = render({
      set: [
        'global.imageRegistryOverride=registry.example:5000',
        'controller.image.tag=1.2.3',
        `agent.image.digest=sha256:${'a'.repeat(64)}`,
      ],
    });
    expect(container(one(objects, 'Deployment')).image).toBe(
      'registry.example:5000/egressgateway-ts/egressgateway-controller:1.2.3',
    );
    expect(container(one(objects, 'DaemonSet')).image).toBe(
      `registry.example:5000/egressgateway-ts/egressgateway-agent@sha256:${'a'.repeat(64)}`,
    );
  });

  it('ServiceMonitor on: one per component, scraping /metrics of its Service', () => {
    const { objects } = render({
      set: [
        'controller.prometheus.enabled=true',
        'controller.prometheus.serviceMonitor.install=true',
        'agent.prometheus.enabled=true',
        'agent.prometheus.serviceMonitor.install=true',
      ],
    });
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual([
      'egressgateway-agent',
      'egressgateway-controller',
    ]);
    for (const m of monitors)
      expect(m.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/metrics' });
    expect(one(objects, 'Service', '-agent').spec.ports[0].name).toBe('metrics');
  });

  it("an upstream-style values file (upstream's extra keys, timings under feature.gatewayFailover) installs", () => {
    // The shape of upstream v0.6.9's values: keys we have no use for are accepted.
    const upstream = valuesFile({
      global: {
        imageRegistryOverride: '',
        name: 'egressgateway',
        clusterDnsDomain: 'cluster.local',
        configName: 'egressgateway',
      },
      feature: {
        enableIPv4: true,
        enableIPv6: false,
        datapathMode: 'iptables',
        tunnelIpv4Subnet: '172.31.0.0/16',
        iptables: { backendMode: 'auto' },
        clusterCIDR: { autoDetect: { podCidrMode: 'auto', clusterIP: true, nodeIP: true }, extraCidr: [] },
        gatewayFailover: {
          enable: true,
          tunnelMonitorPeriod: 5,
          tunnelUpdatePeriod: 5,
          eipEvictionTimeout: 15,
        },
      },
      controller: {
        replicas: 1,
        webhookPort: 5822,
        tls: { method: 'auto' },
        debug: { logLevel: 'info', gopsPort: 5724 },
      },
      agent: { prometheus: { enabled: false, port: 5811 }, debug: { logEncoder: 'console' } },
      cleanup: { enable: true },
    });
    const { objects, error } = render({ files: [upstream] });
    expect(error).toBeUndefined();
    expect(one(objects, 'Deployment').spec.replicas).toBe(1);
    const mapped = mapConfigDocument(confOf(objects));
    expect(mapped.values.eipEvictionTimeout).toBe(15);
    // clusterCIDR goes into EgressClusterInfo/default (as upstream's chart does), not into conf.yml.
    expect(mapped.notApplied.map((n) => n.key).sort()).toEqual(['datapathMode', 'iptables.backendMode']);
    expect(one(objects, 'EgressClusterInfo').spec).toEqual({
      autoDetect: { podCidrMode: 'auto', clusterIP: true, nodeIP: true },
      extraCidr: [],
    });
  });

  it('feature.clusterCIDR renders into EgressClusterInfo/default, switches and extraCidr included', () => {
    const { objects, error } = render({
      set: [
        'feature.clusterCIDR.autoDetect.podCidrMode=calico',
        'feature.clusterCIDR.autoDetect.clusterIP=false',
        'feature.clusterCIDR.extraCidr={203.0.113.0/24,fd00:1::/64}',
      ],
    });
    expect(error).toBeUndefined();
    const info = one(objects, 'EgressClusterInfo');
    expect(info.metadata.name).toBe('default');
    expect(info.spec).toEqual({
      autoDetect: { podCidrMode: 'calico', clusterIP: false, nodeIP: true },
      extraCidr: ['203.0.113.0/24', 'fd00:1::/64'],
    });
  });

  it('values.schema.json refuses a wrong type and an unknown top-level key, naming them', () => {
    const wrong = render({ set: ['controller.replicas=two'] });
    expect(wrong.error).toMatch(/controller\.replicas: Invalid type\. Expected: integer/);
    const unknown = render({ set: ['featur.enableIPv6=true'] });
    expect(unknown.error).toMatch(/Additional property featur is not allowed/);
    const negative = render({ set: ['feature.gatewayFailover.eipEvictionTimeout=-1'] });
    expect(negative.error).toMatch(/eipEvictionTimeout: Must be greater than 0/);
  });
});
