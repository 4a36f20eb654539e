#!/usr/bin/env node
// npm run images [-- options]: builds the controller and agent images (see README.md).
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { buildImages, DEFAULTS, IMAGE_NAMES, repoRoot } from './images.mjs';

const program = new Command('images')
  .description('Build the egressgateway controller and agent OCI images with buildah (root, vfs storage)')
  .option('--registry <host>', 'registry part of the image references', DEFAULTS.registry)
  .option(
    '--repository-prefix <path>',
    'repository path before egressgateway-<name>',
    DEFAULTS.repositoryPrefix,
  )
  .option('--tag <tag>', 'image tag (default: the app package version)')
  .option('--only <names>', `comma-separated subset of: ${IMAGE_NAMES.join(', ')}`)
  .option('--skip-app-build', 'use the bins already in packages/*/dist')
  .option('--force', 'build even the images whose inputs have not changed since the last build')
  .option('--check-reproducible', 'build twice (forced) and fail unless both builds give the same digests')
  .option(
    '--if-possible',
    'skip with a message instead of failing when not root or buildah is missing (nx build)',
  )
  .showHelpAfterError();
program.parse();
const o = program.opts();

const only = o.only ? o.only.split(',').map((s) => s.trim()) : undefined;
for (const n of only ?? []) {
  if (!IMAGE_NAMES.includes(n)) {
    console.error(`images: --only: unknown image "${n}" (choose from ${IMAGE_NAMES.join(', ')})`);
    process.exit(2);
  }
}
const cannot =
  process.getuid?.() !== 0
    ? 'buildah with vfs storage needs root here'
    : spawnSync('buildah', ['--version']).status !== 0
      ? 'buildah is not installed (apt-get install buildah)'
      : undefined;
if (cannot !== undefined) {
  console.error(`images: ${o.ifPossible ? 'skipped: ' : ''}${cannot}`);
  process.exit(o.ifPossible ? 0 : 2);
}

if (!o.skipAppBuild) {
  const projects = (only ?? IMAGE_NAMES).map((n) => `@egressgateway/${n}`);
  const r = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '-p', ...projects, '--outputStyle=static'], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const opts = {
  registry: o.registry,
  repositoryPrefix: o.repositoryPrefix,
  tag: o.tag,
  only,
  force: Boolean(o.force || o.checkReproducible),
};
try {
  const first = buildImages(opts);
  if (o.checkReproducible) {
    const second = buildImages(opts);
    for (const name of first.rebuilt) {
      const img = first.images[name];
      for (const key of ['digest', 'storageDigest']) {
        const again = second.images[name][key];
        if (img[key] !== again) {
          console.error(`images: ${name} is not reproducible: ${key} ${img[key]} then ${again}`);
          process.exit(1);
        }
      }
      console.log(`${name}: reproducible (${img.digest})`);
    }
  }
  for (const name of only ?? IMAGE_NAMES) {
    const img = first.images[name];
    const mb = (n) => (n / 1e6).toFixed(1);
    const how = first.rebuilt.includes(name) ? 'built' : 'reused';
    console.log(
      `${name.padEnd(10)} ${img.ref}  ${img.digest}  ${mb(img.compressedBytes)} MB compressed, ${mb(img.uncompressedBytes)} MB uncompressed (${how})`,
    );
  }
} catch (err) {
  console.error(`images: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
