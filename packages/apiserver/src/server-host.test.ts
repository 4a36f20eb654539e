import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from './server.js';

describe('isLoopbackHost (decides the unauthenticated-exposure warning)', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', 'localhost'])('%s is loopback', (h) => {
    expect(isLoopbackHost(h)).toBe(true);
  });
  it.each(['0.0.0.0', '::', '192.0.2.1', 'fd00::1', '127.0.0.1.example'])('%s is not', (h) => {
    expect(isLoopbackHost(h)).toBe(false);
  });
});
