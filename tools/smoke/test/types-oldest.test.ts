import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM without declarations
import { toolPath } from '../../toolchain/index.mjs';

// The libraries' declaration files must type-check, as a user's project reads them (strict,
// NodeNext, skipLibCheck off), on the oldest TypeScript we support: 5.0 (fast-check's and
// TypeBox's declarations need 5.x). The compiler is the toolchain's pinned `typescript-oldest`.
const OLDEST = '5.0.4';
const smokeDir = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = new URL('../../../packages/', import.meta.url);

const specifiers = readdirSync(packagesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => JSON.parse(readFileSync(new URL(`${d.name}/package.json`, packagesDir), 'utf8')))
  .filter((m: { private?: boolean }) => !m.private)
  .flatMap((m: { name: string; exports?: Record<string, unknown> }) =>
    Object.keys(m.exports ?? { '.': {} })
      .filter((s) => !s.includes('*') && !s.endsWith('.json'))
      .map((s) => (s === '.' ? m.name : `${m.name}/${s.slice(2)}`)),
  );

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Type-checks `source` as a consumer module beside this package (so workspace packages resolve). */
function check(source: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(smokeDir, '.types-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'consumer.ts'), source);
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      types: ['node'],
    },
    files: ['consumer.ts', '../ws-shim.d.ts'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  const r = spawnSync(process.execPath, [toolPath('tscOldest'), '-p', join(dir, 'tsconfig.json')], {
    encoding: 'utf8',
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe(`declaration files on TypeScript ${OLDEST}`, () => {
  it(`the toolchain's oldest compiler is ${OLDEST}`, () => {
    const r = spawnSync(process.execPath, [toolPath('tscOldest'), '--version'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe(`Version ${OLDEST}`);
  });

  it(`every public entry point (${specifiers.length}) type-checks under strict NodeNext`, () => {
    const source = specifiers.map((s, i) => `import * as m${i} from '${s}';`).join('\n');
    const r = check(`${source}\nexport const all = [${specifiers.map((_, i) => `m${i}`).join(', ')}];\n`);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('the check reads our declarations: a wrong use of an export is an error', () => {
    const r = check(
      `import { API_GROUP } from '@egressgateway/crds';\nexport const n: number = API_GROUP;\n`,
    );
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('TS2322');
  });
});
