import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The module structure is part of what makes the engine easy to pick up: one-way dependencies, a
// generic core that knows nothing of the egress adapter. Type-only imports count: a cycle of types is
// still a cycle for a reader.
const src = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && e.name !== 'test-oracle.ts'
      ? [relative(src, path)]
      : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    const target = relative(src, resolve(src, dirname(file), m[1] as string)).replace(/\.js$/, '.ts');
    out.push(target);
  }
  return out;
}

const graph = new Map(sources(src).map((f) => [f, importsOf(f)]));

/** Every import cycle, as the list of files around it. */
function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') found.push([...stack.slice(stack.indexOf(g)), g]);
      else if (state.get(g) === undefined) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (state.get(f) === undefined) visit(f);
  return found;
}

describe('module structure', () => {
  it('has no import cycle', () => {
    expect(graph.size).toBeGreaterThan(20);
    expect(cycles()).toEqual([]);
  });

  it('the core knows nothing of the egress adapter, the CLI or the testing kit', () => {
    for (const [file, imports] of graph) {
      if (!file.startsWith('core/')) continue;
      expect(
        imports.filter((i) => i.startsWith('egress/') || i.startsWith('testing/') || i.startsWith('cli')),
        file,
      ).toEqual([]);
    }
  });

  it('the egress model imports no other module of the adapter', () => {
    expect((graph.get('egress/model.ts') ?? []).filter((i) => i.startsWith('egress/'))).toEqual([
      'egress/types.ts',
    ]);
  });

  it('the engine does not import the testing kit', () => {
    for (const [file, imports] of graph)
      if (!file.startsWith('testing/') && !file.startsWith('cli'))
        expect(
          imports.filter((i) => i.startsWith('testing/')),
          file,
        ).toEqual([]);
  });
});
