// Node 20 cannot run TypeScript: bundle one entry of src/ with esbuild (hoisted by the workspace)
// into node_modules/.cache/netns-lab/, named by the hash of the sources, and import it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles `src/<entry>.ts` (packages stay external) and returns the imported module. */
export async function importSource(entry) {
  const src = join(pkg, 'src');
  const hash = createHash('sha256');
  for (const f of readdirSync(src).sort()) hash.update(f).update(readFileSync(join(src, f)));
  const dir = join(pkg, 'node_modules', '.cache', 'netns-lab');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    console.error(
      `cannot write the bundle cache ${dir} (${err.code}): run as root, or as the owner of the checkout`,
    );
    process.exit(1);
  }
  const out = join(dir, `${entry}-${hash.digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(out)) {
    const { build } = await import('esbuild');
    const r = await build({
      entryPoints: [join(src, `${entry}.ts`)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      write: false,
      logLevel: 'silent',
    });
    const tmp = `${out}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, r.outputFiles[0].contents);
    } catch (err) {
      console.error(
        `cannot write the bundle cache ${dir} (${err.code}): run as root, or as the owner of the checkout`,
      );
      process.exit(1);
    }
    renameSync(tmp, out);
  }
  return import(pathToFileURL(out).href);
}

/** Refuses to go on unless root (the lab creates network namespaces). */
export function requireRoot(what) {
  const wantsHelp = process.argv.includes('--help') || process.argv.includes('-h');
  if (!wantsHelp && typeof process.getuid === 'function' && process.getuid() !== 0) {
    console.error(
      `egressgateway-ts ${what}: run it as root (sudo). It creates network namespaces;\n` +
        'the host network namespace is never changed, and everything is deleted at the end.',
    );
    process.exit(1);
  }
}
