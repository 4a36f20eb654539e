import { describe, expect, it } from 'vitest';
import { type ContainerSpec, podmanRunArgs } from './containers.js';

const spec = (app: 'controller' | 'agent'): ContainerSpec => ({
  name: 'egl-x-agent-gw1',
  lab: 'egl-x',
  netns: 'egl-x-gw1',
  image: 'ghcr.io/egressgateway-ts/egressgateway-agent:0.1.0',
  app,
  mounts: [['/run/egl/sa', '/var/run/secrets/kubernetes.io/serviceaccount']],
  env: { NODE_NAME: 'gw1', CONFIGMAP_PATH: '/tmp/config-map/conf.yml' },
  args: ['--egress-interface', 'eth0'],
});

const after = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

describe('podmanRunArgs', () => {
  it('drops every capability and adds back only NET_ADMIN and NET_RAW for the agent, none for the controller', () => {
    const agent = podmanRunArgs(spec('agent'));
    expect(agent).toContain('--cap-drop');
    expect(after(agent, '--cap-drop')).toEqual(['ALL']);
    expect(after(agent, '--cap-add')).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(agent).not.toContain('--privileged');
    const controller = podmanRunArgs(spec('controller'));
    expect(after(controller, '--cap-add')).toEqual([]);
    expect(after(controller, '--security-opt')).toEqual(['no-new-privileges']);
  });

  it('joins the lab namespace, runs read-only, mounts read-only, and ends with the image and its arguments', () => {
    const a = podmanRunArgs(spec('agent'));
    expect(after(a, '--network')).toEqual(['ns:/run/netns/egl-x-gw1']);
    expect(a).toContain('--read-only');
    expect(after(a, '--volume')).toEqual(['/run/egl/sa:/var/run/secrets/kubernetes.io/serviceaccount:ro']);
    expect(after(a, '--env')).toEqual(['CONFIGMAP_PATH=/tmp/config-map/conf.yml', 'NODE_NAME=gw1']);
    expect(after(a, '--label')).toEqual(['io.egressgateway.netns-lab=egl-x']);
    expect(a).not.toContain('--cpus');
    expect(a.slice(-3)).toEqual([
      'ghcr.io/egressgateway-ts/egressgateway-agent:0.1.0',
      '--egress-interface',
      'eth0',
    ]);
  });

  it('limits CPU and memory as the chart does, when given', () => {
    const a = podmanRunArgs({ ...spec('agent'), limits: { cpus: '0.5', memory: '192m' } });
    expect(after(a, '--cpus')).toEqual(['0.5']);
    expect(after(a, '--memory')).toEqual(['192m']);
    expect(a.indexOf('--cpus')).toBeLessThan(a.indexOf('ghcr.io/egressgateway-ts/egressgateway-agent:0.1.0'));
  });
});
