import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostKubeconfigYaml } from './api-forward.js';
import {
  agentArgs,
  apiServerArgs,
  chartAgentArgs,
  chartControllerArgs,
  controllerArgs,
  PROCESS_LEASE,
  shebangNodeFlags,
} from './app-args.js';
import { clusterObjects } from './cluster.js';
import { findRepoRoot } from './lab.js';
import { planLab } from './plan.js';
import { FAST_TIMING } from './settings.js';

const plan = planLab({ prefix: 'egl-t', gateways: 2, workers: 1 });
const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];

describe('process arguments', () => {
  it('the API server listens on the management address with a data dir and writes a kubeconfig', () => {
    const a = apiServerArgs(plan, '/run');
    expect(flag(a, '--host')).toBe('198.18.128.1');
    expect(flag(a, '--data-dir')).toBe('/run/apiserver-data');
    expect(flag(a, '--kubeconfig-out')).toBe('/run/kubeconfig');
  });

  it('a secured API server (images mode) serves TLS, reads both token files and writes the audit log', () => {
    const a = apiServerArgs(plan, '/run', {
      adminTokenFile: '/run/admin-token',
      tokenAuthFile: '/run/tokens.csv',
      auditLogPath: '/run/audit.jsonl',
    });
    expect(a).toContain('--tls');
    expect(flag(a, '--token-file')).toBe('/run/admin-token');
    expect(flag(a, '--token-auth-file')).toBe('/run/tokens.csv');
    expect(flag(a, '--audit-log-path')).toBe('/run/audit.jsonl');
    expect(apiServerArgs(plan, '/run')).not.toContain('--tls');
  });

  it('controller replicas get distinct identities and health ports, and the lab timing', () => {
    const a = controllerArgs(plan, '/run', FAST_TIMING, { id: 'ctl-a', index: 0, detection: 'poll' });
    const b = controllerArgs(plan, '/run', FAST_TIMING, { id: 'ctl-b', index: 1, detection: 'poll' });
    expect(flag(a, '--health-address')).not.toBe(flag(b, '--health-address'));
    expect(flag(a, '--identity')).toBe('ctl-a');
    expect(flag(a, '--eip-eviction-timeout')).toBe('2');
    expect(flag(a, '--tunnel-update-period')).toBe('0.5');
    expect(flag(a, '--detection')).toBe('poll');
    expect(flag(a, '--leader-election-lease-duration')).toBe('4');
    // The Lease the lab reads to find the leader is named, not left to the controller's default.
    expect([flag(a, '--leader-election-namespace'), flag(a, '--leader-election-name')]).toEqual([
      PROCESS_LEASE.namespace,
      PROCESS_LEASE.name,
    ]);
    // Admission webhook per replica port (they share the control namespace), Secret in the Lease namespace.
    expect([flag(a, '--webhook-address'), flag(b, '--webhook-address'), flag(a, '--pod-namespace')]).toEqual([
      '127.0.0.1:5822',
      '127.0.0.1:5823',
      'kube-system',
    ]);
  });

  it("agents use the controller's tunnel ranges and timing, and eth0 as egress interface", () => {
    const node = plan.nodes[0];
    if (!node) throw new Error('no node');
    const a = agentArgs(plan, '/run', FAST_TIMING, node);
    const c = controllerArgs(plan, '/run', FAST_TIMING, { id: 'x', index: 0, detection: 'deadline' });
    for (const f of [
      '--tunnel-ipv4-cidr',
      '--tunnel-ipv6-cidr',
      '--eip-eviction-timeout',
      '--tunnel-update-period',
    ])
      expect(flag(a, f)).toBe(flag(c, f));
    expect(flag(a, '--node-name')).toBe('gw1');
    expect(flag(a, '--egress-interface')).toBe('eth0');
    expect(flag(a, '--fence-margin')).toBe('0.5');
    // Gateway peers only when the lab asks for them (and then with the key Secret it creates).
    expect(flag(a, '--peers')).toBe('false');
    const p = agentArgs(plan, '/run', FAST_TIMING, node, true);
    expect(flag(p, '--peers')).toBe('true');
    expect(flag(p, '--peer-key-secret')).toBe('egressgateway-peer-key');
    // IPv4 only (upstream's enableIPv6: false): both apps get an empty IPv6 tunnel range.
    expect(flag(agentArgs(plan, '/run', FAST_TIMING, node, false, false), '--tunnel-ipv6-cidr')).toBe('');
    const c4 = controllerArgs(plan, '/run', FAST_TIMING, {
      id: 'x',
      index: 0,
      detection: 'deadline',
      ipv6: false,
    });
    expect(flag(c4, '--tunnel-ipv6-cidr')).toBe('');
    expect(flag(agentArgs(plan, '/run', FAST_TIMING, node, false, true, false), '--tunnel-ipv4-cidr')).toBe(
      '',
    );
    const c6 = controllerArgs(plan, '/run', FAST_TIMING, {
      id: 'x',
      index: 0,
      detection: 'deadline',
      ipv4: false,
    });
    expect(flag(c6, '--tunnel-ipv4-cidr')).toBe('');
  });
});

/** Flag names a chart template passes as `- --name=value` (the chart is the reference). */
function chartFlags(template: string): string[] {
  const text = readFileSync(join(findRepoRoot(), 'charts', 'egressgateway', 'templates', template), 'utf8');
  return [...text.matchAll(/^\s*- (--[a-z-]+)=/gm)].map((m) => m[1] as string).sort();
}
const flagNames = (args: string[]) => args.map((a) => a.split('=')[0] as string).sort();
const value = (args: string[], name: string) =>
  args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);

describe('container arguments (images mode) as the Helm chart passes them', () => {
  it('the controller gets exactly the flags of the chart, with the lab timing and the Lease in the release namespace', () => {
    const a = chartControllerArgs(FAST_TIMING, {
      index: 1,
      detection: 'poll',
      leaseNamespace: 'egressgateway',
      leaseName: 'egressgateway',
    });
    expect(flagNames(a)).toEqual(chartFlags('controller.yaml'));
    expect(value(a, '--health-address')).toBe('127.0.0.1:8791');
    expect(value(a, '--leader-election-namespace')).toBe('egressgateway');
    expect(value(a, '--leader-election-lease-duration')).toBe('4');
    expect(value(a, '--detection')).toBe('poll');
  });

  it('the agent gets exactly the flags of the chart (the lab sets egressInterface: eth0)', () => {
    const node = plan.nodes[0];
    if (!node) throw new Error('no node');
    const a = chartAgentArgs(FAST_TIMING, node);
    expect(flagNames(a)).toEqual(chartFlags('agent.yaml'));
    expect(value(a, '--egress-interface')).toBe('eth0');
    expect(value(a, '--fence-margin')).toBe('0.5');
    expect(value(a, '--health-address')).toBe(node.health);
  });
});

describe('cluster objects and kubeconfig', () => {
  it('labels only gateway nodes egress=true and selects them in the EgressGateway', () => {
    const o = clusterObjects(plan);
    expect(o.nodes.filter((n) => n.metadata.labels.egress === 'true').map((n) => n.metadata.name)).toEqual([
      'gw1',
      'gw2',
    ]);
    expect(o.gateway.spec.nodeSelector.selector.matchLabels).toEqual({ egress: 'true' });
    expect(o.gateway.spec.ippools.ipv4DefaultEIP).toBe(plan.eip4);
  });

  it('puts the pod addresses in the status (as a kubelet) and points the policy at the server', () => {
    const o = clusterObjects(plan);
    expect(o.pods[0]?.status.podIPs).toEqual([{ ip: '198.19.1.2' }, { ip: 'fd00:19:1::2' }]);
    expect(o.pods[0]?.body.spec.nodeName).toBe('wk1');
    expect(o.policy.spec.destSubnet).toEqual(['198.18.0.100/32', 'fd00:18::100/128']);
  });

  it('writes a kubeconfig whose only cluster is the forwarded loopback URL, and selects it', () => {
    const lines = hostKubeconfigYaml('http://127.0.0.1:4567').split('\n');
    expect(lines).toContain('clusters: [{name: lab, cluster: {server: "http://127.0.0.1:4567"}}]');
    expect(lines).toContain('current-context: lab');
    expect(lines.filter((l) => l.includes('server:'))).toHaveLength(1);
    expect(lines).toContain('users: [{name: lab, user: {}}]');
    expect(hostKubeconfigYaml('http://127.0.0.1:4567', 'abc').split('\n')).toContain(
      'users: [{name: lab, user: {token: "abc"}}]',
    );
  });
});

describe('shebangNodeFlags', () => {
  it('reads the node flags of a bin, so the lab starts it as its first line would', () => {
    expect(shebangNodeFlags('#!/usr/bin/env -S node --lite-mode --max-semi-space-size=2')).toEqual([
      '--lite-mode',
      '--max-semi-space-size=2',
    ]);
    expect(shebangNodeFlags('#!/usr/bin/env node')).toEqual([]);
    expect(shebangNodeFlags('// no shebang')).toEqual([]);
  });

  it('refuses a first line it cannot follow instead of silently dropping its flags', () => {
    expect(() => shebangNodeFlags('#!/bin/sh')).toThrow(/expected #!\/usr\/bin\/env -S node/);
    expect(() => shebangNodeFlags('#!/usr/bin/env -S node --inspect foo.js')).toThrow(
      /unexpected first line/,
    );
  });
});
