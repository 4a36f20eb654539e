import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Runs the README's code blocks marked `<!-- readme-test -->` as a user would write them, with the
// package's import specifiers pointing at this source tree. A README example that stops compiling
// or whose assertions fail breaks this test.
const src = dirname(fileURLToPath(import.meta.url));
const pkg = dirname(src);
const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
const work = join(pkg, 'node_modules', '.readme-test');

function markedBlocks(text: string): string[] {
  const blocks: string[] = [];
  const re = /<!-- readme-test -->\s*```ts\n([\s\S]*?)```/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) blocks.push(m[1] as string);
  return blocks;
}

function localised(code: string): string {
  const to = (file: string) => pathToFileURL(join(src, file)).href;
  return code
    .replaceAll("'@egressgateway/failover/testing'", `'${to('testing/index.ts')}'`)
    .replaceAll("'@egressgateway/failover/simulator'", `'${to('testing/simulator-entry.ts')}'`)
    .replaceAll("'@egressgateway/failover'", `'${to('index.ts')}'`);
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('README examples', () => {
  const blocks = markedBlocks(readme);

  it('the heartbeat property example is marked to be run', () => {
    expect(blocks.some((b) => b.includes('replayHeartbeats'))).toBe(true);
  });

  it.each(blocks.map((b, i) => [i, b] as const))(
    'example %i runs and its assertions hold',
    async (i, code) => {
      mkdirSync(work, { recursive: true });
      const file = join(work, `example-${i}.ts`);
      writeFileSync(file, localised(code));
      await expect(import(pathToFileURL(file).href)).resolves.toBeDefined();
    },
  );
});
