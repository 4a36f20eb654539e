import { describe, expect, it } from 'vitest';
import { API_GROUP_VERSION } from './index.js';

describe('constants', () => {
  it('joins group and version as Kubernetes does', () => {
    expect(API_GROUP_VERSION).toBe('egressgateway.spidernet.io/v1beta1');
  });
});
