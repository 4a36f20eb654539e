import { describe, expect, it } from 'vitest';
import { detectParentInterface } from './detect.js';

describe('detectParentInterface', () => {
  it('finds a named interface and skips host-scope addresses', async () => {
    // lo exists in every namespace; its addresses are host-scope, so none is a parent address.
    expect(await detectParentInterface('lo')).toEqual({ name: 'lo' });
  });

  it('names a missing interface in its error', async () => {
    await expect(detectParentInterface('nope0')).rejects.toThrow('egress interface "nope0" does not exist');
  });
});
