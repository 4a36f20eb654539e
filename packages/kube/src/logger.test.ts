import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

/** A destination that keeps the JSON lines written to it. */
function sink(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return {
    stream,
    lines: () =>
      text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

describe('createLogger', () => {
  it('falls back to json, saying why, when the pretty transport is not installed', () => {
    const out = sink();
    const log = createLogger({ format: 'pretty', prettyModule: 'egw-no-such-pretty-module' }, out.stream);
    log.info({ node: 'gw1' }, 'agent started');
    const [warning, line] = out.lines();
    expect(warning).toMatchObject({ level: 40, module: 'egw-no-such-pretty-module' });
    expect(String(warning?.msg)).toContain('which is not installed: logging json lines');
    expect(line).toMatchObject({ level: 30, node: 'gw1', msg: 'agent started' });
  });

  it('writes json lines at the chosen level', () => {
    const out = sink();
    const log = createLogger({ format: 'json', level: 'warn', name: 'egw' }, out.stream);
    log.info({}, 'dropped');
    log.warn({ eip: '198.18.0.10' }, 'kept');
    expect(out.lines()).toEqual([
      expect.objectContaining({ level: 40, name: 'egw', eip: '198.18.0.10', msg: 'kept' }),
    ]);
  });
});
