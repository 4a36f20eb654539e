import { describe, expect, it } from 'vitest';
import { parseRoute } from './routes.js';

describe('parseRoute', () => {
  it.each([
    ['/healthz', { kind: 'health' }],
    ['/readyz/ping', { kind: 'health' }],
    ['/livez/poststarthook/start-informers', { kind: 'health' }],
    ['/healthz/anything', { kind: 'unknown' }],
    ['/readyz/ping/extra', { kind: 'unknown' }],
    ['/version', { kind: 'version' }],
    ['/api', { kind: 'discovery-api' }],
    ['/apis', { kind: 'discovery-apis' }],
    ['/apis/example.com', { kind: 'discovery-group', group: 'example.com' }],
    ['/api/v1', { kind: 'discovery-gv', group: '', version: 'v1' }],
    ['/openapi/v3', { kind: 'openapi-root' }],
    ['/openapi/v3/apis/example.com/v1', { kind: 'openapi-gv', group: 'example.com', version: 'v1' }],
    ['/openapi/v2', { kind: 'unknown' }],
    [
      '/api/v1/namespaces',
      { kind: 'resource', group: '', version: 'v1', namespace: '', resource: 'namespaces', watchPath: false },
    ],
    [
      '/api/v1/namespaces/demo',
      {
        kind: 'resource',
        group: '',
        version: 'v1',
        namespace: '',
        resource: 'namespaces',
        name: 'demo',
        watchPath: false,
      },
    ],
    [
      '/api/v1/namespaces/demo/status',
      {
        kind: 'resource',
        group: '',
        version: 'v1',
        namespace: '',
        resource: 'namespaces',
        name: 'demo',
        subresource: 'status',
        watchPath: false,
      },
    ],
    [
      '/api/v1/namespaces/demo/configmaps',
      {
        kind: 'resource',
        group: '',
        version: 'v1',
        namespace: 'demo',
        resource: 'configmaps',
        watchPath: false,
      },
    ],
    [
      '/api/v1/watch/namespaces/demo/pods/p1',
      {
        kind: 'resource',
        group: '',
        version: 'v1',
        namespace: 'demo',
        resource: 'pods',
        name: 'p1',
        watchPath: true,
      },
    ],
    [
      '/apis/example.com/v1/namespaces/default/widgets/w1/status',
      {
        kind: 'resource',
        group: 'example.com',
        version: 'v1',
        namespace: 'default',
        resource: 'widgets',
        name: 'w1',
        subresource: 'status',
        watchPath: false,
      },
    ],
    ['/apis/x/v1/a/b/c/d', { kind: 'unknown' }],
    ['/%E0%A4%A', { kind: 'unknown' }],
  ])('%s', (path, want) => {
    expect(parseRoute(path)).toEqual(want);
  });
});
