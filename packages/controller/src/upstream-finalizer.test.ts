import { describe, expect, it } from 'vitest';
import { UPSTREAM_GATEWAY_FINALIZER, upstreamFinalizersToRelease } from './upstream-finalizer.js';

const gw = (name: string, opts: { deleting?: boolean; finalizers?: string[] } = {}) => ({
  metadata: {
    name,
    resourceVersion: '7',
    ...(opts.deleting ? { deletionTimestamp: '2026-12-05T10:00:00Z' } : {}),
    ...(opts.finalizers ? { finalizers: opts.finalizers } : {}),
  },
});
const policy = (gateway?: string) => ({ spec: gateway === undefined ? {} : { egressGatewayName: gateway } });

describe("upstream's gateway finalizer (egress_gateway.go:474-489: removed once deleted and unnamed)", () => {
  it('is released from a deleted gateway no policy names, keeping the other finalizers', () => {
    const gateways = [
      gw('a', { deleting: true, finalizers: ['x/keep', UPSTREAM_GATEWAY_FINALIZER, 'y/keep'] }),
    ];
    expect(upstreamFinalizersToRelease(gateways, [policy('b'), policy()])).toEqual([
      { name: 'a', keep: ['x/keep', 'y/keep'], resourceVersion: '7' },
    ]);
  });

  it.each([
    [
      'a policy still names it',
      gw('a', { deleting: true, finalizers: [UPSTREAM_GATEWAY_FINALIZER] }),
      [policy('a')],
    ],
    ['it is not being deleted', gw('a', { finalizers: [UPSTREAM_GATEWAY_FINALIZER] }), []],
    ['it has no upstream finalizer', gw('a', { deleting: true, finalizers: ['x/other'] }), []],
    ['it has no finalizers', gw('a', { deleting: true }), []],
  ])('is kept while %s', (_why, gateway, policies) => {
    expect(upstreamFinalizersToRelease([gateway], policies)).toEqual([]);
  });
});
