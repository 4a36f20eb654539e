import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.js';
import { parseAddress, startHealthServer } from './server.js';

describe('health server', () => {
  it('answers /healthz, /readyz by the readiness callback, and /metrics', async () => {
    const registry = new Registry();
    new Counter({ name: 'egw_test_total', help: 'test', registers: [registry] }).inc(3);
    let ready = false;
    const s = await startHealthServer({ address: '127.0.0.1:0', ready: () => ready, registry });
    try {
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${s.url}/readyz`)).status).toBe(503);
      ready = true;
      expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
      const m = await fetch(`${s.url}/metrics`);
      expect(await m.text()).toContain('egw_test_total 3');
      expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    } finally {
      await s.close();
    }
  });

  it('parses host:port forms and rejects others with the expected form', () => {
    expect(parseAddress('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseAddress('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(parseAddress(':8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(() => parseAddress('8080')).toThrow('is not host:port');
  });
});

describe('backoffDelayMs', () => {
  it('grows by the factor, caps at max and spreads by the jitter', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 10].map((a) => backoffDelayMs(a, { initialMs: 100, maxMs: 500 }, mid))).toEqual([
      100, 200, 400, 500, 500,
    ]);
    expect(backoffDelayMs(1, { initialMs: 100, jitter: 0.2 }, () => 0)).toBe(80);
    expect(backoffDelayMs(1, { initialMs: 100, jitter: 0.2 }, () => 1)).toBe(120);
  });
});
