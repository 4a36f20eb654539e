import { type ChildProcess, spawn } from 'node:child_process';
import { familyOf } from '@egressgateway/netaddr';

/**
 * Perl program (perl-base is part of every Debian/Ubuntu system) that sends unsolicited
 * neighbour advertisements for one address: ICMPv6 type 136 with the Override flag and the
 * target link-layer address option, to ff02::1 with hop limit 255, from the address itself.
 * Node has no raw sockets; the kernel fills in the ICMPv6 checksum for raw ICMPv6 sockets.
 * Arguments: ifindex target mac count interval-ms.
 */
export const UNSOLICITED_NA_PERL = String.raw`
use strict; use Socket qw(AF_INET6 SOCK_RAW inet_pton pack_sockaddr_in6);
my ($ifindex, $target, $mac, $count, $gap) = @ARGV;
socket(my $s, AF_INET6, SOCK_RAW, 58) or die "socket: $!\n";
setsockopt($s, 41, 18, pack('i', 255)) or die "hops: $!\n";
setsockopt($s, 41, 17, pack('i', $ifindex)) or die "mcast if: $!\n";
my $t = inet_pton(AF_INET6, $target) or die "bad target\n";
bind($s, pack_sockaddr_in6(0, $t, 0, $ifindex)) or die "bind: $!\n";
(my $hex = $mac) =~ s/://g;
my $pkt = pack('CCnN', 136, 0, 0, 0x20000000) . $t . pack('CC', 2, 1) . pack('H12', $hex);
my $dst = pack_sockaddr_in6(0, inet_pton(AF_INET6, 'ff02::1'), 0, $ifindex);
for my $i (1 .. $count) {
  defined(send($s, $pkt, 0, $dst)) or die "send: $!\n";
  select(undef, undef, undef, $gap / 1000) if $i < $count;
}
`;

/** One announcement that was started. */
export interface Announcement {
  readonly address: string;
  readonly interface: string;
  /** `arping` (IPv4 gratuitous ARP) or `perl-na` (IPv6 unsolicited NA). */
  readonly via: 'arping' | 'perl-na';
}

/** A result of a conflict probe: another host answered for one of our EIPs. */
export interface EipConflict {
  readonly address: string;
  readonly interface: string;
  /** MAC address of the other owner when the tool printed it. */
  readonly otherMac: string | undefined;
}

/** Paths of the helper programs (overridable for tests or unusual images). */
export interface AnnouncerTools {
  readonly arping: string;
  readonly perl: string;
  readonly ndisc6: string;
}

/** Defaults: programs found on PATH. */
export const DEFAULT_TOOLS: AnnouncerTools = { arping: 'arping', perl: 'perl', ndisc6: 'ndisc6' };

/**
 * Sends announcements and conflict probes through small external programs, each spawned with an
 * argument array and never waited for on the bind path. MetalLB-style layering: it knows nothing
 * about policy, only addresses and interfaces.
 */
export class Announcer {
  private readonly tools: AnnouncerTools;
  private readonly children = new Set<ChildProcess>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly onError: (what: string, err: Error) => void;

  constructor(tools: AnnouncerTools = DEFAULT_TOOLS, onError: (what: string, err: Error) => void = () => {}) {
    this.tools = tools;
    this.onError = onError;
  }

  /**
   * Announces `address` now (`count` packets one second apart for IPv4, 100 ms apart for IPv6)
   * and once more after `repeatAfterMs`. Returns as soon as the first program is spawned.
   */
  announce(
    address: string,
    ifname: string,
    ifindex: number,
    mac: string,
    count: number,
    repeatAfterMs: number,
  ): Announcement {
    const v4 = familyOf(address) === 4;
    const fire = (n: number): void => {
      if (v4) this.spawnDetached('arping', this.tools.arping, ['-U', '-c', String(n), '-I', ifname, address]);
      else {
        this.spawnDetached('perl-na', this.tools.perl, [
          '-e',
          UNSOLICITED_NA_PERL,
          String(ifindex),
          address,
          mac,
          String(n),
          '100',
        ]);
      }
    };
    fire(count);
    if (repeatAfterMs > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        fire(1);
      }, repeatAfterMs);
      t.unref();
      this.timers.add(t);
    }
    return { address, interface: ifname, via: v4 ? 'arping' : 'perl-na' };
  }

  /**
   * Asks the LAN whether anyone else answers for `address` (which we hold): IPv4 with an RFC 5227
   * probe (`arping -D`, exit 1 = someone answered), IPv6 with a neighbour solicitation
   * (`ndisc6`). Takes about `waitMs` when nobody answers, so it is never on the bind path.
   */
  probe(address: string, ifname: string, ownMac: string, waitMs = 1000): Promise<EipConflict | null> {
    const v4 = familyOf(address) === 4;
    const args = v4
      ? ['-D', '-c', '1', '-w', String(Math.max(1, Math.round(waitMs / 1000))), '-I', ifname, address]
      : ['-1', '-n', '-q', '-r', '1', '-w', String(waitMs), address, ifname];
    const cmd = v4 ? this.tools.arping : this.tools.ndisc6;
    return new Promise((resolve) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
      this.children.add(child);
      let out = '';
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
      });
      child.on('error', (e) => {
        this.children.delete(child);
        this.onError(`probe ${address}`, e);
        resolve(null);
      });
      child.on('close', (code) => {
        this.children.delete(child);
        const mac = /([0-9a-f]{2}(?::[0-9a-f]{2}){5})/i.exec(out)?.[1]?.toLowerCase();
        const conflict = v4 ? code === 1 : code === 0 && mac !== undefined && mac !== ownMac.toLowerCase();
        resolve(conflict ? { address, interface: ifname, otherMac: mac } : null);
      });
    });
  }

  private spawnDetached(what: string, cmd: string, args: string[]): void {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    this.children.add(child);
    child.on('error', (e) => {
      this.children.delete(child);
      this.onError(what, e);
    });
    child.on('exit', () => this.children.delete(child));
    child.unref();
  }

  /** Cancels pending repeats and stops running helpers. */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.children) c.kill();
    this.children.clear();
  }
}
