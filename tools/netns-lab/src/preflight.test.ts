import { describe, expect, it } from 'vitest';
import { missingTools, REQUIRED_TOOLS } from './preflight.js';

describe('missingTools', () => {
  it('names the Debian package of every missing tool', () => {
    const problems = missingTools((cmd) => cmd !== 'arping' && cmd !== 'nft');
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/arping.*iputils-arping/);
    expect(problems.join('\n')).toMatch(/nft.*nftables/);
  });

  it('reports nothing when every tool works', () => {
    expect(missingTools(() => true)).toEqual([]);
    expect(REQUIRED_TOOLS.map((t) => t.command)).toEqual(['ip', 'nft', 'arping', 'perl']);
  });
});
