// Folders the chart tools use, from this file's place in the repository.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const chartDir = join(repoRoot, 'charts', 'egressgateway');
export const chartCrdsDir = join(chartDir, 'crds');
export const packageCrdsDir = join(repoRoot, 'packages', 'crds', 'manifests');
