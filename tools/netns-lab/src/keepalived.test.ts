import { describe, expect, it } from 'vitest';
import {
  KeepalivedOptionError,
  keepalivedArgs,
  keepalivedFiles,
  keepalivedLabel,
  masterDownMs,
  parseAddrEvent,
  parseAdverts,
  renderKeepalivedConfig,
  renderSnatRules,
  VRRP_NEXT_HOP,
  vrrpPriority,
  vrrpRoutes,
} from './keepalived.js';
import { planLab } from './plan.js';

const plan = planLab({ prefix: 'egl-k', gateways: 3, workers: 1 });
const gw1 = plan.nodes[0];
if (!gw1) throw new Error('plan without nodes');

describe('renderKeepalivedConfig', () => {
  const conf = renderKeepalivedConfig({ plan, node: gw1, priority: 250, advertSeconds: 0.1 });

  it('runs VRRPv3 with the advert interval, BACKUP + nopreempt, the node priority and one router id', () => {
    expect(conf).toMatch(/^\s*vrrp_version 3$/m);
    expect(conf).toMatch(/^\s*advert_int 0\.1$/m);
    expect(conf).toMatch(/^\s*state BACKUP$/m);
    expect(conf).toMatch(/^\s*nopreempt$/m);
    expect(conf).toMatch(/^\s*priority 250$/m);
    expect(conf).toMatch(/^\s*virtual_router_id 50$/m);
    expect(conf).toMatch(/^\s*interface eth0$/m);
    expect(conf).toContain('router_id egw-lab-gw1');
  });

  it('puts the EIP and the next hop in one instance: IPv4 in the adverts, IPv6 excluded from them', () => {
    const v4 = /virtual_ipaddress \{([^}]*)\}/.exec(conf)?.[1] ?? '';
    const v6 = /virtual_ipaddress_excluded \{([^}]*)\}/.exec(conf)?.[1] ?? '';
    expect(v4).toContain(`${plan.eip4}/32 dev eth0`);
    expect(v4).toContain(`${VRRP_NEXT_HOP.ipv4}/32 dev eth0`);
    expect(v4).not.toContain(':');
    expect(v6).toContain(`${plan.eip6}/128 dev eth0`);
    expect(v6).toContain(`${VRRP_NEXT_HOP.ipv6}/128 dev eth0`);
    // Exactly one instance: the two pairs cannot end up on different nodes.
    expect(conf.match(/vrrp_instance/g)).toHaveLength(1);
  });

  it('refuses an advert interval VRRPv3 cannot express', () => {
    expect(() => renderKeepalivedConfig({ plan, node: gw1, priority: 250, advertSeconds: 0.005 })).toThrow(
      KeepalivedOptionError,
    );
  });
});

describe('parseAdverts', () => {
  it('reads seconds separated by commas', () => {
    expect(parseAdverts('1,0.1')).toEqual([1, 0.1]);
    expect(parseAdverts(' 2 ')).toEqual([2]);
  });
  it('rejects empty items, words, zero, sub-centisecond and over-range values', () => {
    for (const bad of ['', '1,', 'fast', '0', '0.001', '41', '-1', '1e-1'])
      expect(() => parseAdverts(bad), bad).toThrow(KeepalivedOptionError);
  });
  it('labels rows by the interval', () => {
    expect(keepalivedLabel(0.1)).toBe('keepalived advert 0.1s');
  });
});

describe('vrrpPriority and masterDownMs', () => {
  it('gives distinct priorities, highest first, within 1-254, for every gateway count', () => {
    for (let n = 1; n <= 9; n++) {
      const ps = Array.from({ length: n }, (_, i) => vrrpPriority(i + 1, n));
      expect(new Set(ps).size).toBe(n);
      expect([...ps].sort((a, b) => b - a)).toEqual(ps);
      for (const p of ps) expect(p >= 1 && p <= 254).toBe(true);
    }
    expect(() => vrrpPriority(4, 3)).toThrow(KeepalivedOptionError);
  });
  it('is 3 adverts plus the skew of the priority (RFC 5798)', () => {
    expect(masterDownMs(1, 128)).toBe(3500);
    expect(masterDownMs(0.1, 256 - 64)).toBeCloseTo(325, 6);
  });
  it('lets the best backup take over alone: skews of neighbours differ by more than 10 ms at 0.1 s', () => {
    const a = masterDownMs(0.1, vrrpPriority(2, 3));
    const b = masterDownMs(0.1, vrrpPriority(3, 3));
    expect(b - a).toBeGreaterThan(10);
  });
});

describe('keepalivedArgs', () => {
  it('runs VRRP only, in the foreground, without syslog or respawn, with files in the run folder', () => {
    const f = keepalivedFiles('/run/lab', 'gw2');
    expect(f).toEqual({
      config: '/run/lab/keepalived-gw2.conf',
      pid: '/run/lab/keepalived-gw2.pid',
      vrrpPid: '/run/lab/keepalived-gw2-vrrp.pid',
    });
    const args = keepalivedArgs(f);
    for (const a of ['--vrrp', '--dont-fork', '--log-console', '--no-syslog', '--dont-respawn'])
      expect(args).toContain(a);
    expect(args).toContain('--use-file=/run/lab/keepalived-gw2.conf');
    expect(args).toContain('--vrrp_pid=/run/lab/keepalived-gw2-vrrp.pid');
  });
});

describe('renderSnatRules', () => {
  it('SNATs both families of the pod subnets to the EIP on the LAN interface, in one table', () => {
    const r = renderSnatRules(plan);
    expect(r).toContain('type nat hook postrouting priority srcnat');
    expect(r).toContain(`ip saddr 198.19.0.0/16 oifname "eth0" snat ip to ${plan.eip4}`);
    expect(r).toContain(`ip6 saddr fd00:19::/32 oifname "eth0" snat ip6 to ${plan.eip6}`);
    expect(r.match(/^table /gm)).toHaveLength(1);
  });
});

describe('vrrpRoutes', () => {
  it('steers pod traffic on the worker to the next hop by source, keeping traffic to pods in main', () => {
    const wk = plan.nodes.find((n) => n.role === 'worker');
    const cmds = vrrpRoutes(plan).filter((c) => c.ns === wk?.ns);
    const text = cmds.map((c) => c.args.join(' '));
    expect(text).toContain('-4 rule add pref 90 to 198.19.0.0/16 lookup main');
    expect(text).toContain('-4 rule add pref 100 from 198.19.0.0/16 lookup 100');
    expect(text).toContain(`-4 route replace default via ${VRRP_NEXT_HOP.ipv4} dev eth0 table 100`);
    expect(text).toContain(`-6 route replace default via ${VRRP_NEXT_HOP.ipv6} dev eth0 table 100`);
  });
  it('routes the pod subnet back through its worker on every gateway, or on one gateway when asked', () => {
    const all = vrrpRoutes(plan).filter((c) => c.args.includes('198.19.1.0/24'));
    expect(all.map((c) => c.ns).sort()).toEqual(['egl-k-gw1', 'egl-k-gw2', 'egl-k-gw3']);
    expect(all[0]?.args).toEqual([
      '-4',
      'route',
      'replace',
      '198.19.1.0/24',
      'via',
      '198.18.0.31',
      'dev',
      'eth0',
    ]);
    const one = vrrpRoutes(plan, 'gw2');
    expect(new Set(one.map((c) => c.ns))).toEqual(new Set(['egl-k-gw2']));
    expect(one.map((c) => c.args[3])).toEqual(['198.19.1.0/24', 'fd00:19:1::/64']);
  });
  it('adds one route per worker subnet even with several pods per worker', () => {
    const p2 = planLab({ prefix: 'egl-k', gateways: 1, workers: 2, podsPerWorker: 3 });
    expect(vrrpRoutes(p2, 'gw1')).toHaveLength(4);
  });
});

describe('parseAddrEvent', () => {
  it('reads additions and deletions of IPv4 and IPv6 addresses from ip -o monitor', () => {
    expect(
      parseAddrEvent(
        '3: eth0    inet 198.18.0.50/32 scope global eth0\\       valid_lft forever preferred_lft forever',
      ),
    ).toEqual({ deleted: false, ifname: 'eth0', address: '198.18.0.50' });
    expect(
      parseAddrEvent('Deleted 3: eth0    inet 198.18.0.50/32 scope global eth0\\       valid_lft forever'),
    ).toEqual({ deleted: true, ifname: 'eth0', address: '198.18.0.50' });
    expect(
      parseAddrEvent('3: eth0    inet6 FD00:18::50/128 scope global nodad \\ valid_lft forever'),
    ).toEqual({
      deleted: false,
      ifname: 'eth0',
      address: 'fd00:18::50',
    });
  });
  it('ignores other lines', () => {
    expect(parseAddrEvent('')).toBeUndefined();
    expect(parseAddrEvent('3: eth0: <BROADCAST,MULTICAST,UP> mtu 1500')).toBeUndefined();
  });
});
