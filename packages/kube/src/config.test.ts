import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addOptions, ConfigError, nearestKey, option, parsers, resolveConfig } from './config.js';
import { readConfigFile } from './config-file.js';

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
    upstreamEnv: 'LOG_LEVEL',
    description: 'log level',
    parse: parsers.oneOf(['debug', 'info', 'warn'] as const),
    parseUpstream: (raw: unknown) =>
      parsers.oneOf(['debug', 'info', 'warn'] as const)(String(raw).toLowerCase()),
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

  it('reads the upstream env name after ours: flag > EGW_* > upstream env > file > default', () => {
    const file = { logLevel: 'warn' };
    expect(resolveConfig(specs, { file }).logLevel).toBe('warn');
    expect(resolveConfig(specs, { file, env: { LOG_LEVEL: 'DEBUG' } }).logLevel).toBe('debug');
    expect(resolveConfig(specs, { file, env: { LOG_LEVEL: 'DEBUG', EGW_LOG_LEVEL: 'info' } }).logLevel).toBe(
      'info',
    );
    expect(
      resolveConfig(specs, {
        env: { LOG_LEVEL: 'debug', EGW_LOG_LEVEL: 'info' },
        flags: parseFlags(['--log-level', 'warn']),
      }).logLevel,
    ).toBe('warn');
    // An empty variable is not a value (as a chart renders an unset value).
    expect(resolveConfig(specs, { file, env: { LOG_LEVEL: '' } }).logLevel).toBe('warn');
    expect(() => resolveConfig(specs, { env: { LOG_LEVEL: 'loud' } })).toThrow(
      'logLevel (from env LOG_LEVEL)',
    );
  });

  it('reports unknown keys in the file with the likely intended key, so typos are not silently ignored', () => {
    try {
      resolveConfig(specs, { file: { tunnelUpdatePeriode: 1 }, fileName: 'egw.yaml' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toBe(
        'tunnelUpdatePeriode (from egw.yaml): unknown setting: did you mean tunnelUpdatePeriod? Fix the name or remove the key',
      );
    }
    expect(() => resolveConfig(specs, { file: { somethingElse: 1 }, fileName: 'egw.yaml' })).toThrow(
      "somethingElse (from egw.yaml): unknown setting: remove it, or use one of tunnelUpdatePeriod, logLevel or a key of upstream's conf.yml",
    );
    expect(() =>
      resolveConfig(specs, { file: { 'vxlan.nam': 1 }, fileName: 'conf.yml', suggest: ['vxlan.name'] }),
    ).toThrow('did you mean vxlan.name?');
  });

  it('names the key as written in the file when it came from an upstream key', () => {
    expect(() =>
      resolveConfig(specs, {
        file: { tunnelUpdatePeriod: 'soon' },
        fileOrigins: { tunnelUpdatePeriod: 'gatewayFailover.tunnelUpdatePeriod' },
        fileName: 'conf.yml',
      }),
    ).toThrow(
      'gatewayFailover.tunnelUpdatePeriod (from conf.yml): "soon" is not a positive number of seconds',
    );
  });

  it('suggests only near keys, case-insensitively', () => {
    const keys = ['tunnelIpv4Subnet', 'tunnelIpv6Subnet', 'eipEvictionTimeout'];
    expect(nearestKey('tunnelipv4subnet', keys)).toBe('tunnelIpv4Subnet');
    expect(nearestKey('eipEvictionTimout', keys)).toBe('eipEvictionTimeout');
    expect(nearestKey('mtu', keys)).toBeUndefined();
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
