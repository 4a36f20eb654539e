#!/usr/bin/env node
// Creates a library package folder with the repo's conventions (package.json fields, tsup,
// tsconfig, vitest). Usage: node tools/scaffold/new-package.mjs <folder> "<description>"
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [folder, description = ''] = process.argv.slice(2);
if (!folder) {
  console.error('usage: new-package.mjs <folder> "<description>"');
  process.exit(2);
}
const dir = join('packages', folder);
if (existsSync(dir)) {
  console.error(`${dir} exists already`);
  process.exit(1);
}
mkdirSync(join(dir, 'src'), { recursive: true });
const name = `@egressgateway/${folder}`;
const pkg = {
  name,
  version: '0.1.0',
  description,
  license: 'Apache-2.0',
  repository: {
    type: 'git',
    url: 'git+https://github.com/egressgateway-ts/egressgateway-ts.git',
    directory: dir,
  },
  type: 'module',
  sideEffects: false,
  engines: { node: '>=20.19' },
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.ts',
  exports: {
    '.': {
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    },
    './package.json': './package.json',
  },
  files: ['dist', 'README.md'],
  publishConfig: { access: 'public' },
  scripts: {
    build: 'tsup',
    typecheck: 'tsc -p tsconfig.json --noEmit',
    lint: 'biome check --error-on-warnings .',
    check: 'publint --strict && attw --pack . --profile node16',
  },
  dependencies: {},
};
const w = (f, s) => writeFileSync(join(dir, f), s);
w('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
w(
  'tsconfig.json',
  `${JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src', 'bench', 'test', '*.ts'] }, null, 2)}\n`,
);
w(
  'tsup.config.ts',
  `import { defineConfig } from 'tsup';\n\nexport default defineConfig({\n  entry: ['src/index.ts'],\n  format: ['esm', 'cjs'],\n  dts: true,\n  clean: true,\n  sourcemap: true,\n  target: 'node20',\n});\n`,
);
w(
  'vitest.config.ts',
  `import { packageTestConfig } from '../../vitest.shared.ts';\n\nexport default packageTestConfig('${folder}');\n`,
);
console.log(`created ${dir}`);
