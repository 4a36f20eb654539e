import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../src/index.js';
import { WIDGET_CRD } from './cluster.js';

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer({ port: 0 });
  await send('POST', '/api/v1/namespaces/default/configmaps', '{"metadata":{"name":"target"}}');
});
afterAll(async () => server?.close());

function send(
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<{ code: number; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'Content-Type': contentType };
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    const req = request(`${server.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Record<string, any> = {};
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = { text };
        }
        resolve({ code: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const CM = '/api/v1/namespaces/default/configmaps';
const ITEM = `${CM}/target`;

/** The decoders: each method and content type with the body it is given. */
const DECODERS = [
  { method: 'POST', path: CM, type: 'application/json' },
  { method: 'POST', path: CM, type: 'application/yaml' },
  { method: 'PUT', path: ITEM, type: 'application/json' },
  { method: 'PATCH', path: ITEM, type: 'application/json-patch+json' },
  { method: 'PATCH', path: ITEM, type: 'application/merge-patch+json' },
  { method: 'PATCH', path: ITEM, type: 'application/strategic-merge-patch+json' },
  { method: 'PATCH', path: `${ITEM}?fieldManager=t`, type: 'application/apply-patch+yaml' },
] as const;

function nested(shape: 'array' | 'object' | 'block' | 'dashes', depth: number): string {
  if (shape === 'array')
    return `{"metadata":{"name":"target"},"data":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  if (shape === 'object')
    return `{"metadata":{"name":"target"},"x":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
  if (shape === 'dashes') return `metadata:\n  name: target\nx: ${'- '.repeat(depth)}1\n`;
  const lines = ['metadata:', '  name: target', 'x:'];
  for (let i = 1; i <= depth; i++) lines.push(`${' '.repeat(i)}k:`);
  return lines.join('\n');
}

describe('decoder depth and size limits', () => {
  it.each(DECODERS)('$method $type: 100,000 nested [ gets 400 naming the limit', async (d) => {
    const body = d.type.includes('yaml')
      ? `x: ${'['.repeat(100_000)}`
      : '['.repeat(100_000) + ']'.repeat(100_000);
    const r = await send(d.method, d.path, body, d.type);
    expect(r.code).toBe(400);
    expect(r.body).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect(r.body.message).toContain('limit of 1000 (maxNestingDepth)');
  });

  it('JSON create of 10,000 and 100,000 levels gets 400, not 500', async () => {
    for (const depth of [10_000, 100_000]) {
      const r = await send('POST', CM, nested('object', depth));
      expect(r.code).toBe(400);
      expect(r.body.message).toMatch(/maxNestingDepth/);
    }
  });

  it('a 2 MB apply patch of nested [ is refused and the server keeps answering', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await send(
        'PATCH',
        `${ITEM}?fieldManager=t`,
        '['.repeat(2_000_000),
        'application/apply-patch+yaml',
      );
      expect(r.code).toBe(400);
    }
    expect((await send('GET', '/readyz')).code).toBe(200);
  });

  it('a body over the size limit gets 413 naming the limit', async () => {
    const r = await send(
      'POST',
      CM,
      `{"metadata":{"name":"big"},"data":{"a":"${'x'.repeat(3 * 1024 * 1024)}"}}`,
    );
    expect(r.code).toBe(413);
    expect(r.body.message).toContain(`larger than ${3 * 1024 * 1024} bytes`);
  });

  it('fuzz: every decoder answers 2xx or 4xx to deep or large bodies and the server stays ready', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...DECODERS),
        fc.constantFrom('array', 'object', 'block', 'dashes') as fc.Arbitrary<
          'array' | 'object' | 'block' | 'dashes'
        >,
        fc.oneof(fc.integer({ min: 0, max: 1_200 }), fc.integer({ min: 1_200, max: 300_000 })),
        async (d, shape, depth) => {
          // Block indentation grows quadratically: keep it within the 3 MiB body limit's neighbourhood.
          const body = nested(shape, shape === 'block' ? Math.min(depth, 2_600) : depth);
          const r = await send(d.method, d.path, body, d.type);
          expect(
            r.code,
            `${d.method} ${d.type} ${shape} ${depth}: ${JSON.stringify(r.body).slice(0, 200)}`,
          ).toBeGreaterThanOrEqual(200);
          expect(r.code).toBeLessThan(500);
          expect((await send('GET', '/readyz')).code).toBe(200);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});

describe('protected namespaces', () => {
  it.each(['default', 'kube-system', 'kube-public', 'kube-node-lease'])(
    'DELETE namespace %s gets 403 Forbidden (dry run too) and the namespace stays',
    async (ns) => {
      for (const q of ['', '?dryRun=All']) {
        const r = await send('DELETE', `/api/v1/namespaces/${ns}${q}`);
        expect(r.code).toBe(403);
        expect(r.body).toMatchObject({
          kind: 'Status',
          status: 'Failure',
          reason: 'Forbidden',
          code: 403,
          message: `namespaces "${ns}" is forbidden: this namespace may not be deleted`,
          details: { name: ns, kind: 'namespaces' },
        });
      }
      expect((await send('GET', `/api/v1/namespaces/${ns}`)).code).toBe(200);
    },
  );

  it('other namespaces are still deleted', async () => {
    expect((await send('POST', '/api/v1/namespaces', '{"metadata":{"name":"scratch"}}')).code).toBe(201);
    expect((await send('DELETE', '/api/v1/namespaces/scratch')).code).toBe(200);
  });
});

describe('query parameters checked as kube-apiserver does', () => {
  it.each(['abc', '-1', '1.5', '0x10'])('resourceVersion=%s on get, list and watch is 400', async (rv) => {
    for (const path of [ITEM, CM, `${CM}?watch=true&timeoutSeconds=1`]) {
      const r = await send(
        'GET',
        `${path}${path.includes('?') ? '&' : '?'}resourceVersion=${encodeURIComponent(rv)}`,
      );
      expect(r.code).toBe(400);
      expect(r.body).toMatchObject({
        reason: 'BadRequest',
        message: `resourceVersion: Invalid value: "${rv}": strconv.ParseUint: parsing "${rv}": invalid syntax`,
      });
    }
  });

  it('resourceVersion 0 and empty are accepted', async () => {
    for (const q of ['?resourceVersion=0', '?resourceVersion=']) {
      expect((await send('GET', `${CM}${q}`)).code).toBe(200);
      expect((await send('GET', `${ITEM}${q}`)).code).toBe(200);
    }
  });

  it('a bogus or misplaced resourceVersionMatch is 422 Invalid on ListOptions', async () => {
    const bogus = await send('GET', `${CM}?resourceVersion=1&resourceVersionMatch=Bogus`);
    expect(bogus.code).toBe(422);
    expect(bogus.body.message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Bogus": supported values: "Exact", "NotOlderThan", ""',
    );
    const noRv = await send('GET', `${CM}?resourceVersionMatch=NotOlderThan`);
    expect(noRv.code).toBe(422);
    expect(noRv.body.message).toContain(
      'resourceVersionMatch is forbidden unless resourceVersion is provided',
    );
    expect((await send('GET', `${CM}?resourceVersion=1&resourceVersionMatch=NotOlderThan`)).code).toBe(200);
  });

  it('timeoutSeconds=abc is 400 and opens no watch', async () => {
    const r = await send('GET', `${CM}?watch=true&timeoutSeconds=abc`);
    expect(r.code).toBe(400);
    expect(r.body.message).toBe(
      'timeoutSeconds: Invalid value: "abc": strconv.ParseInt: parsing "abc": invalid syntax',
    );
  });

  it('watch=false and watch=0 list; any other watch value (maybe) watches, as the real codec reads bools', async () => {
    for (const v of ['false', 'FALSE', '0'])
      expect((await send('GET', `${CM}?watch=${v}`)).body.kind).toBe('ConfigMapList');
    const r = await fetch(`${server.url}${CM}?watch=maybe&timeoutSeconds=1`);
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(JSON.parse(text.split('\n')[0] as string)).toMatchObject({ type: 'ADDED' });
  });

  it('get and list at a future resourceVersion are 504 Too large resource version with the retry cause', async () => {
    const list = await send('GET', CM);
    const current = Number(list.body.metadata.resourceVersion);
    for (const path of [CM, ITEM]) {
      const r = await send('GET', `${path}?resourceVersion=${current + 1000}`);
      expect(r.code).toBe(504);
      expect(r.body).toMatchObject({
        reason: 'Timeout',
        code: 504,
        message: `Too large resource version: ${current + 1000}, current: ${current}`,
        details: {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        },
      });
    }
  });

  it('a watch from a future resourceVersion streams no older events', async () => {
    const list = await send('GET', CM);
    const current = Number(list.body.metadata.resourceVersion);
    const watch = fetch(`${server.url}${CM}?watch=true&resourceVersion=${current + 2}&timeoutSeconds=1`).then(
      (r) => r.text(),
    );
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 4; i++) await send('POST', CM, `{"metadata":{"name":"future-${i}"}}`);
    const events = (await watch)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.object.metadata.name)).toEqual(['future-2', 'future-3']);
  });
});

describe('malformed metadata and type fields', () => {
  const W = '/apis/example.com/v1/namespaces/default/widgets';
  beforeAll(async () => {
    expect(
      (
        await send(
          'POST',
          '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
          JSON.stringify(WIDGET_CRD),
        )
      ).code,
    ).toBe(201);
  });

  it.each([
    ['["b17"]', 'array'],
    ['7', 'number'],
    ['true', 'bool'],
    ['{"a":1}', 'object'],
  ])('a custom resource with metadata.name %s is 400 and nothing is stored', async (name, goType) => {
    const r = await send(
      'POST',
      W,
      `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":${name}}}`,
    );
    expect(r.code).toBe(400);
    expect(r.body.message).toBe(
      `Widget in version "v1" cannot be handled as a Widget: json: cannot unmarshal ${goType} into Go struct field ObjectMeta.metadata.name of type string`,
    );
    expect((await send('GET', W)).body.items).toEqual([]);
  });

  it('built-in kinds get the same check (a namespace named 7, finalizers "x", numeric labels)', async () => {
    expect((await send('POST', '/api/v1/namespaces', '{"metadata":{"name":7}}')).code).toBe(400);
    expect((await send('POST', CM, '{"metadata":{"name":"f","finalizers":"x"}}')).code).toBe(400);
    expect((await send('POST', CM, '{"metadata":{"name":"l","labels":{"a":1}}}')).code).toBe(400);
  });

  it('a custom resource without kind or apiVersion is 400', async () => {
    const noKind = await send('POST', W, '{"apiVersion":"example.com/v1","metadata":{"name":"a"}}');
    expect(noKind.code).toBe(400);
    expect(noKind.body.message).toMatch(/^Object 'Kind' is missing in '\{/);
    const noVersion = await send('POST', W, '{"kind":"Widget","metadata":{"name":"a"}}');
    expect(noVersion.code).toBe(400);
    expect(noVersion.body.message).toMatch(/^Object 'apiVersion' is missing in '\{/);
    expect((await send('GET', W)).body.items).toEqual([]);
  });

  it('a custom resource with the wrong apiVersion or kind is 400', async () => {
    const kind = await send(
      'POST',
      W,
      '{"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"a"}}',
    );
    expect(kind.code).toBe(400);
    expect(kind.body.message).toBe('the kind in the data (Gadget) does not match the expected kind (Widget)');
    const version = await send(
      'POST',
      W,
      '{"apiVersion":"example.com/v2","kind":"Widget","metadata":{"name":"a"}}',
    );
    expect(version.code).toBe(400);
    const ok = await send(
      'POST',
      W,
      '{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"a"},"spec":{"size":1}}',
    );
    expect(ok.code).toBe(201);
  });

  it('built-ins may still omit kind and apiVersion (typed decoding defaults them)', async () => {
    expect((await send('POST', CM, '{"metadata":{"name":"typed-default"}}')).code).toBe(201);
  });
});

describe('Accept negotiation', () => {
  it('answers 406 to an Accept the server cannot serve, before doing anything', async () => {
    const r = await new Promise<{ code: number; body: any }>((resolve, reject) => {
      const req = request(
        `${server.url}${CM}`,
        { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/xml' } },
        (res) => {
          let t = '';
          res.on('data', (d: Buffer) => {
            t += d.toString();
          });
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body: JSON.parse(t) }));
        },
      );
      req.on('error', reject);
      req.end('{"metadata":{"name":"xml-accept"}}');
    });
    expect(r.code).toBe(406);
    expect(r.body).toMatchObject({ reason: 'NotAcceptable', code: 406 });
    expect((await send('GET', `${CM}/xml-accept`)).code).toBe(404);
  });

  it.each([
    '*/*',
    'application/json, */*;q=0.8',
    'application/vnd.kubernetes.protobuf, */*',
    'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    'text/html, application/json;q=0.9',
  ])('serves Accept %s', async (accept) => {
    const r = await fetch(`${server.url}${CM}`, { headers: { Accept: accept } });
    expect(r.status).toBe(200);
  });
});

describe('options refused as kube-apiserver refuses them', () => {
  it('an apply patch without fieldManager is 422 and changes nothing', async () => {
    const r = await send('PATCH', ITEM, 'data: {k: v}', 'application/apply-patch+yaml');
    expect(r.code).toBe(422);
    expect(r.body.message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    expect((await send('GET', ITEM)).body.data?.k).toBeUndefined();
  });

  it('a bogus propagationPolicy (query or body) is 422 and deletes nothing', async () => {
    expect((await send('POST', CM, '{"metadata":{"name":"keep-me"}}')).code).toBe(201);
    const q = await send('DELETE', `${CM}/keep-me?propagationPolicy=Bogus`);
    expect(q.code).toBe(422);
    expect(q.body.message).toBe(
      'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Bogus": supported values: "Foreground", "Background", "Orphan", "nil"',
    );
    expect((await send('DELETE', `${CM}/keep-me`, '{"propagationPolicy":"Sideways"}')).code).toBe(422);
    expect((await send('DELETE', CM, '{"propagationPolicy":"Sideways"}')).code).toBe(422);
    expect((await send('GET', `${CM}/keep-me`)).code).toBe(200);
    expect((await send('DELETE', `${CM}/keep-me`, '{"propagationPolicy":"Background"}')).code).toBe(200);
  });
});

describe('built-in kinds typed as the real decoder and validation type them', () => {
  it('ConfigMap data that is not a map of strings is 400', async () => {
    const r = await send('POST', CM, '{"metadata":{"name":"d1"},"data":[1]}');
    expect(r.code).toBe(400);
    expect(r.body.message).toBe(
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string',
    );
    expect((await send('POST', CM, '{"metadata":{"name":"d2"},"data":{"a":1}}')).code).toBe(400);
  });

  it('a Pod spec that is not an object is 400', async () => {
    const r = await send('POST', '/api/v1/namespaces/default/pods', '{"metadata":{"name":"p"},"spec":"x"}');
    expect(r.code).toBe(400);
    expect(r.body.message).toContain(
      'cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec',
    );
  });

  it('label keys and values over 63 characters or with bad characters are 422', async () => {
    const long = 'a'.repeat(64);
    const v = await send('POST', CM, JSON.stringify({ metadata: { name: 'l1', labels: { k: long } } }));
    expect(v.code).toBe(422);
    expect(v.body.message).toBe(
      `ConfigMap "l1" is invalid: metadata.labels: Invalid value: "${long}": must be no more than 63 characters`,
    );
    const k = await send('POST', CM, JSON.stringify({ metadata: { name: 'l2', labels: { [long]: 'v' } } }));
    expect(k.code).toBe(422);
    expect(k.body.message).toContain('name part must be no more than 63 characters');
    expect(
      (await send('POST', CM, JSON.stringify({ metadata: { name: 'l3', labels: { 'a b': 'v' } } }))).code,
    ).toBe(422);
    expect(
      (
        await send(
          'POST',
          CM,
          JSON.stringify({ metadata: { name: 'l4', annotations: { 'Bad_Prefix/x': 'v' } } }),
        )
      ).code,
    ).toBe(422);
    const ok = await send(
      'POST',
      CM,
      JSON.stringify({ metadata: { name: 'l5', labels: { 'example.com/a_b.c-d': 'V_1.x', e: '' } } }),
    );
    expect(ok.code).toBe(201);
  });
});

describe('unknown and duplicate fields, as the typed decoder and fieldValidation treat them', () => {
  async function write(method: string, path: string, body: string, query = '') {
    const r = await fetch(`${server.url}${path}${query}`, {
      method,
      headers: {
        'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
      },
      body,
    });
    return {
      code: r.status,
      warning: r.headers.get('warning'),
      body: (await r.json()) as Record<string, any>,
    };
  }

  it('drops unknown top-level and metadata fields of a built-in kind and warns about each (Warn is the default)', async () => {
    const r = await write(
      'POST',
      CM,
      '{"metadata":{"name":"u1","colour":"red"},"data":{"a":"1"},"extra":{"x":1}}',
    );
    expect(r.code).toBe(201);
    expect(r.warning).toBe('299 - "unknown field \\"extra\\"", 299 - "unknown field \\"metadata.colour\\""');
    const got = (await send('GET', `${CM}/u1`)).body;
    expect(got.extra).toBeUndefined();
    expect(got.metadata.colour).toBeUndefined();
    expect(got.data).toEqual({ a: '1' });
  });

  it('refuses them with 400 under fieldValidation=Strict and stores nothing', async () => {
    const r = await write('POST', CM, '{"metadata":{"name":"u2"},"spec":{}}', '?fieldValidation=Strict');
    expect(r.code).toBe(400);
    expect(r.body.message).toBe(
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "spec"',
    );
    expect((await send('GET', `${CM}/u2`)).code).toBe(404);
  });

  it('keeps what each kind really has (the type, stringData and immutable of a Secret, a Lease spec)', async () => {
    const s = await write(
      'POST',
      '/api/v1/namespaces/default/secrets',
      '{"metadata":{"name":"s1"},"type":"Opaque","stringData":{"k":"v"},"immutable":false}',
      '?fieldValidation=Strict',
    );
    expect(s.code).toBe(201);
    const l = await write(
      'POST',
      '/apis/coordination.k8s.io/v1/namespaces/default/leases',
      '{"metadata":{"name":"l1"},"spec":{"holderIdentity":"a"}}',
      '?fieldValidation=Strict',
    );
    expect(l.code).toBe(201);
    expect(l.warning).toBeNull();
  });

  it('reports a key given twice: the last wins under Warn, 400 under Strict, silence under Ignore', async () => {
    const body = '{"metadata":{"name":"d1","labels":{"a":"1","a":"2"}},"data":{"k":"x","k":"y"}}';
    const strict = await write('POST', CM, body, '?fieldValidation=Strict');
    expect(strict.code).toBe(400);
    expect(strict.body.message).toBe(
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "metadata.labels.a", duplicate field "data.k"',
    );
    const warn = await write('POST', CM, body);
    expect(warn.code).toBe(201);
    expect(warn.warning).toBe(
      '299 - "duplicate field \\"metadata.labels.a\\"", 299 - "duplicate field \\"data.k\\""',
    );
    expect(warn.body.data).toEqual({ k: 'y' });
    const ignore = await write('PUT', `${CM}/d1`, body, '?fieldValidation=Ignore');
    expect(ignore.code).toBe(200);
    expect(ignore.warning).toBeNull();
  });

  it('checks merge patches for duplicate keys too', async () => {
    const r = await write('PATCH', ITEM, '{"data":{"p":"1","p":"2"}}', '?fieldValidation=Strict');
    expect(r.code).toBe(400);
    expect(r.body.message).toContain('strict decoding error: duplicate field "data.p"');
    expect((await send('GET', ITEM)).body.data?.p).toBeUndefined();
  });

  it('drops unknown metadata fields of a custom resource as well', async () => {
    const crd = await send(
      'POST',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      JSON.stringify(WIDGET_CRD),
    );
    expect([201, 409]).toContain(crd.code);
    const path = '/apis/example.com/v1/namespaces/default/widgets';
    let r = await write(
      'POST',
      path,
      '{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w-meta","bogus":1}}',
    );
    for (let i = 0; r.code === 404 && i < 50; i++) {
      await new Promise((ok) => setTimeout(ok, 20));
      r = await write(
        'POST',
        path,
        '{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w-meta","bogus":1}}',
      );
    }
    expect(r.code).toBe(201);
    expect(r.warning).toBe('299 - "unknown field \\"metadata.bogus\\""');
    expect(r.body.metadata.bogus).toBeUndefined();
  });
});
