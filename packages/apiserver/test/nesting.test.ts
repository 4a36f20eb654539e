/**
 * Bodies nested deeper than the server allows are refused with 400 before any parser runs: a
 * 2 MB apply patch of nested `[` used to run the YAML parser out of memory and kill the process,
 * and deep JSON ended in a 500 stack overflow.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNesting, MAX_NESTING_DEPTH } from '../src/decode-limits.js';
import { type ApiServer, startApiServer } from '../src/index.js';

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});

async function send(method: string, path: string, body: string, type: string) {
  const r = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': type }, body });
  return { code: r.status, body: (await r.json()) as { message?: string } };
}

const CM = '/api/v1/namespaces/default/configmaps';
const ready = async () => (await fetch(`${server.url}/readyz`)).status;

describe('nesting limit', () => {
  it('counts brackets outside strings only, and stops past the limit', () => {
    expect(() => checkNesting('['.repeat(MAX_NESTING_DEPTH) + ']'.repeat(MAX_NESTING_DEPTH))).not.toThrow();
    expect(() => checkNesting('['.repeat(MAX_NESTING_DEPTH + 1))).toThrow(/max depth of 1000/);
    expect(() => checkNesting(`{"a": "${'['.repeat(5000)}"}`)).not.toThrow();
    expect(() => checkNesting(`a: '${'{'.repeat(5000)}'`)).not.toThrow();
    expect(() => checkNesting(`{"a": "\\"${'['.repeat(5000)}"}`)).not.toThrow();
    // A quote inside a YAML plain scalar is a character: the brackets after it still count.
    expect(() => checkNesting(`a: it's ${'['.repeat(5000)}`)).toThrow();
  });

  it('a 2 MB apply patch of nested brackets gets 400 and the server stays up', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await send(
        'PATCH',
        `${CM}/x?fieldManager=t`,
        '['.repeat(2_000_000),
        'application/apply-patch+yaml',
      );
      expect(r.code).toBe(400);
      expect(r.body.message).toContain('max depth');
    }
    expect(await ready()).toBe(200);
  });

  it('deep JSON and YAML bodies and merge patches get 400, not 500', async () => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    for (const [method, path, type] of [
      ['POST', CM, 'application/json'],
      ['POST', CM, 'application/yaml'],
      ['PATCH', `${CM}/x`, 'application/merge-patch+json'],
      ['PATCH', `${CM}/x`, 'application/json-patch+json'],
    ] as const) {
      const r = await send(method, path, deep, type);
      expect(r.code, `${method} ${type}`).toBe(400);
    }
    expect(await ready()).toBe(200);
  });

  it('fuzz: any nesting of any body type is answered with 2xx or 4xx, and the server stays ready', async () => {
    const types = [
      'application/json',
      'application/yaml',
      'application/merge-patch+json',
      'application/json-patch+json',
      'application/strategic-merge-patch+json',
      'application/apply-patch+yaml',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 * MAX_NESTING_DEPTH }),
        fc.constantFrom(...types),
        fc.array(fc.constantFrom('[', '{', ']', '}', '"', "'", ':', ',', 'a', ' ', '\n'), { maxLength: 40 }),
        async (depth, type, noise) => {
          const open = Array.from({ length: depth }, (_, i) => (i % 3 === 0 ? '{"k":' : '['));
          const body = `${open.join('')}${noise.join('')}`;
          const patch = type.includes('patch');
          const r = await send(
            patch ? 'PATCH' : 'POST',
            patch ? `${CM}/fuzz?fieldManager=t` : CM,
            body,
            type,
          );
          expect(r.code >= 200 && r.code < 500, `${type} depth ${depth}: ${r.code} ${r.body.message}`).toBe(
            true,
          );
        },
      ),
      { numRuns: 60 },
    );
    expect(await ready()).toBe(200);
  }, 60_000);
});
