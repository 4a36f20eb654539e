#!/usr/bin/env node
// Writes the generated files from the built package: manifests/<plural>.yaml and docs/api.md.
// Run with `npm run generate -w @egressgateway/crds` (it builds first).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { apiReferenceMarkdown, crdManifestYaml, KINDS } from '../dist/index.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
for (const kind of Object.keys(KINDS)) {
  const file = here(`../manifests/${KINDS[kind].plural}.yaml`);
  writeFileSync(file, crdManifestYaml(kind));
  console.log(`wrote ${file}`);
}
const api = here('../../../docs/api.md');
writeFileSync(api, apiReferenceMarkdown());
console.log(`wrote ${api}`);
