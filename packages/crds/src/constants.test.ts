import { describe, expect, it } from 'vitest';
import { API_GROUP_VERSION, gatewayLabelValue } from './index.js';

describe('constants', () => {
  it('joins group and version as Kubernetes does', () => {
    expect(API_GROUP_VERSION).toBe('egressgateway.spidernet.io/v1beta1');
  });

  it('gatewayLabelValue keeps a name that is a label value and hashes a longer one into one', () => {
    expect(gatewayLabelValue('egw1')).toBe('egw1');
    expect(gatewayLabelValue('a.b-c')).toBe('a.b-c');
    const long = `${'g'.repeat(49)}.${'x'.repeat(100)}`;
    const other = `${'g'.repeat(49)}.${'y'.repeat(100)}`;
    const v = gatewayLabelValue(long);
    expect(v).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
    expect(v.startsWith('g'.repeat(49))).toBe(true);
    expect(v).not.toBe(gatewayLabelValue(other));
    expect(gatewayLabelValue(long)).toBe(v);
  });
});
