import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addOptions, ConfigError, option, parsers, readConfigFile, resolveConfig } from './config.js';

const specs = {
  updateMs: option({
    key: 'tunnelUpdatePeriod',
    flag: '--tunnel-update-period',
    env: 'EGW_TUNNEL_UPDATE_PERIOD',
    description: 'heartbeat period, seconds',
    parse: parsers.secondsToMs,
    default: 1000,
  }),
  logLevel: option({
    key: 'logLevel',
    flag: '--log-level',
    env: 'EGW_LOG_LEVEL',
    description: 'log level',
    parse: parsers.oneOf(['debug', 'info', 'warn'] as const),
    default: 'info' as const,
  }),
};

const parseFlags = (argv: string[]) =>
  addOptions(new Command().exitOverride(), specs).parse(argv, { from: 'user' }).opts();

describe('resolveConfig', () => {
  it('takes flag over env over file over default, and parses fractional seconds', () => {
    const file = { tunnelUpdatePeriod: 2, logLevel: 'warn' };
    expect(resolveConfig(specs, {})).toEqual({ updateMs: 1000, logLevel: 'info' });
    expect(resolveConfig(specs, { file })).toEqual({ updateMs: 2000, logLevel: 'warn' });
    expect(resolveConfig(specs, { file, env: { EGW_TUNNEL_UPDATE_PERIOD: '0.25' } }).updateMs).toBe(250);
    expect(
      resolveConfig(specs, {
        file,
        env: { EGW_TUNNEL_UPDATE_PERIOD: '0.25' },
        flags: parseFlags(['--tunnel-update-period', '0.5']),
      }).updateMs,
    ).toBe(500);
  });

  it('names the setting and the source of a bad value', () => {
    expect(() => resolveConfig(specs, { env: { EGW_TUNNEL_UPDATE_PERIOD: 'soon' } })).toThrow(
      'tunnelUpdatePeriod (from env EGW_TUNNEL_UPDATE_PERIOD): "soon" is not a positive number of seconds',
    );
    expect(() => resolveConfig(specs, { flags: parseFlags(['--log-level', 'loud']) })).toThrow(
      'logLevel (from --log-level): "loud" is not one of debug, info, warn',
    );
  });

  it('reports unknown keys in the file, so typos are not silently ignored', () => {
    try {
      resolveConfig(specs, { file: { tunnelUpdatePeriode: 1 }, fileName: 'egw.yaml' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toContain('tunnelUpdatePeriode (from egw.yaml): unknown setting');
    }
  });

  it('reads a YAML file with a Helm-style feature section', () => {
    const dir = mkdtempSync(join(tmpdir(), 'egw-config-'));
    const path = join(dir, 'c.yaml');
    writeFileSync(path, 'feature:\n  tunnelUpdatePeriod: 0.5\nlogLevel: debug\n');
    expect(resolveConfig(specs, { file: readConfigFile(path) })).toEqual({
      updateMs: 500,
      logLevel: 'debug',
    });
    writeFileSync(path, '- a\n- b\n');
    expect(() => readConfigFile(path)).toThrow('must be a YAML mapping');
    expect(() => readConfigFile(join(dir, 'missing.yaml'))).toThrow('cannot read the file');
  });
});
