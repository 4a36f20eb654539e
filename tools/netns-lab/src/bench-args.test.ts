import { describe, expect, it } from 'vitest';
import { BENCH_USAGE, BenchArgsError, parseBenchArgs } from './bench-args.js';
import { FAULTS } from './scenario.js';

const yes = { keepalivedInstalled: true };
const no = { keepalivedInstalled: false };

describe('parseBenchArgs', () => {
  it('defaults: 20 trials, agent-kill and node-down, fast and seed, both detections, keepalived 1 s and 0.1 s when installed', () => {
    const a = parseBenchArgs([], yes);
    expect(a.trials).toBe(20);
    expect(a.faults).toEqual(['agent-kill', 'node-down']);
    expect(a.keepalivedFaults).toEqual(['agent-kill', 'node-down']);
    expect(a.settings.map((s) => s.label)).toEqual(['fast 0.25/1', 'seed 5/5/5']);
    expect(a.settings[0]?.timing).toMatchObject({ tunnelUpdatePeriod: 0.25, eipEvictionTimeout: 1 });
    expect(a.settings[1]?.timing).toMatchObject({ tunnelUpdatePeriod: 5, eipEvictionTimeout: 5 });
    expect(a.modes).toEqual(['deadline', 'poll']);
    expect(a.adverts).toEqual([1, 0.1]);
    expect(a.notes).toEqual([]);
  });

  it("--settings lab is the lab tests' timing (update 0.5 s, eviction 2 s)", () => {
    const a = parseBenchArgs(['--settings', 'lab', '--modes', 'peers'], yes);
    expect(a.settings.map((s) => s.label)).toEqual(['lab 0.5/2']);
    expect(a.settings[0]?.timing).toMatchObject({
      tunnelUpdatePeriod: 0.5,
      eipEvictionTimeout: 2,
      fenceMargin: 0.5,
    });
  });

  it('without keepalived the default has no reference rows and says why', () => {
    const a = parseBenchArgs([], no);
    expect(a.adverts).toEqual([]);
    expect(a.notes.join()).toMatch(/keepalived is not installed/);
  });

  it('refuses --modes keepalived when keepalived is missing', () => {
    expect(() => parseBenchArgs(['--modes', 'keepalived'], no)).toThrow(BenchArgsError);
  });

  it('--faults all runs every fault; keepalived rows keep the ones keepalived can run and note the rest', () => {
    const a = parseBenchArgs(['--faults', 'all', '--modes', 'deadline,keepalived', '--adverts', '0.1'], yes);
    expect(a.faults).toEqual([...FAULTS]);
    expect(a.modes).toEqual(['deadline']);
    expect(a.adverts).toEqual([0.1]);
    expect(a.keepalivedFaults).toEqual([
      'agent-kill',
      'agent-freeze',
      'node-down',
      'node-freeze',
      'lan-link-down',
      'planned',
    ]);
    expect(a.notes.join()).toMatch(/skip partition, leader-kill, leader-stop, apiserver-restart/);
  });

  it('--modes peers: controller rows with the gateway peers on, beside keepalived in the same run', () => {
    const a = parseBenchArgs(
      [
        '--modes',
        'peers,keepalived',
        '--faults',
        'node-down,node-freeze',
        '--adverts',
        '0.1',
        '--trials',
        '20',
      ],
      yes,
    );
    expect(a.modes).toEqual(['peers']);
    expect(a.faults).toEqual(['node-down', 'node-freeze']);
    expect(a.keepalivedFaults).toEqual(['node-down', 'node-freeze']);
    expect(a.adverts).toEqual([0.1]);
    expect(a.trials).toBe(20);
    expect(parseBenchArgs(['--modes', 'deadline,peers'], no).modes).toEqual(['deadline', 'peers']);
  });

  it('runs --modes peers from the images too (the chart with agent.peers.enabled)', () => {
    const a = parseBenchArgs(['--modes', 'peers,deadline', '--images'], no);
    expect(a.images).toBe(true);
    expect(a.modes).toEqual(['peers', 'deadline']);
  });

  it('keepalived alone: no controller rows', () => {
    const a = parseBenchArgs(['--modes', 'keepalived', '--faults', 'node-down', '--trials', '3'], yes);
    expect(a.modes).toEqual([]);
    expect(a.keepalivedFaults).toEqual(['node-down']);
    expect(a.trials).toBe(3);
  });

  it('rejects bad values with the reason', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--trials', '0'], /--trials/],
      [['--trials', '2.5'], /--trials/],
      [['--faults', 'agent-kill,nope'], /unknown fault\(s\) nope/],
      [['--settings', 'slow'], /unknown setting slow/],
      [['--modes', 'vrrp'], /unknown mode\(s\) vrrp/],
      [['--modes', 'keepalived', '--adverts', '0.001'], /advert interval/],
      [['--modes', 'keepalived', '--faults', 'partition'], /none of the faults/],
      [['--bogus'], /bogus/],
    ];
    for (const [argv, why] of bad) expect(() => parseBenchArgs(argv, yes), argv.join(' ')).toThrow(why);
  });

  it('passes --out and --help through, and the usage names every option and fault', () => {
    expect(parseBenchArgs(['--out', '/tmp/x.md'], yes).out).toBe('/tmp/x.md');
    expect(parseBenchArgs(['-h'], yes).help).toBe(true);
    expect(parseBenchArgs([], yes).images).toBe(false);
    expect(
      parseBenchArgs(['--images', '--faults', 'rolling-update', '--modes', 'deadline'], yes).images,
    ).toBe(true);
    for (const w of [
      '--images',
      '--trials',
      '--faults',
      '--settings',
      '--modes',
      '--adverts',
      '--out',
      'keepalived',
      ...FAULTS,
    ])
      expect(BENCH_USAGE).toContain(w);
  });
});
