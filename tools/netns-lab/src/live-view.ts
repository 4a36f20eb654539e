import type { Lab, LabEvent } from './lab.js';
import { nodeByMac } from './plan.js';

/**
 * Prints the lab's timeline as it happens: progress and faults, holder changes in the gateway
 * status, which MAC answers ARP for the EIP, and probe silences (at least `gapMs`) with their
 * length when traffic resumes. Times are relative to `t0` (set when the fault is injected).
 */
export class LiveView {
  private t0 = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private seenArrivals = 0;
  private seenArp = 0;
  private lastArrival = 0;
  private silent = false;
  private owner = '';

  constructor(
    private readonly lab: () => Lab | undefined,
    private readonly write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
    private readonly gapMs = 100,
  ) {}

  /** Resets the zero of the timeline. */
  mark(): void {
    this.t0 = Date.now();
  }

  private rel(t: number): string {
    const s = (t - this.t0) / 1000;
    return `${s >= 0 ? '+' : ''}${s.toFixed(3)}s`.padStart(9);
  }

  /** Prints one lab event. */
  event(e: LabEvent): void {
    this.write(`${this.rel(e.t)}  ${e.kind.padEnd(8)} ${e.text}`);
  }

  /** Prints a line stamped now. */
  line(text: string): void {
    this.write(`${this.rel(Date.now())}  ${'step'.padEnd(8)} ${text}`);
  }

  /** Starts watching the probe and ARP records. */
  start(): void {
    this.timer = setInterval(() => this.tick(), 20);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private tick(): void {
    const lab = this.lab();
    if (!lab) return;
    const eip = lab.plan.eip4;
    for (; this.seenArrivals < lab.arrivals.length; this.seenArrivals++) {
      const a = lab.arrivals[this.seenArrivals];
      if (a?.k !== 'u4') continue;
      if (this.silent) {
        this.write(
          `${this.rel(a.t)}  ${'probe'.padEnd(8)} traffic resumed after ${Math.round(a.t - this.lastArrival)} ms, server sees ${a.s}${a.s === eip ? ' (the EIP)' : ''}`,
        );
        this.silent = false;
      }
      this.lastArrival = a.t;
    }
    if (!this.silent && this.lastArrival > 0 && Date.now() - this.lastArrival > this.gapMs) {
      this.silent = true;
      this.write(
        `${this.rel(this.lastArrival)}  ${'probe'.padEnd(8)} silence: no IPv4 probe at the server since then`,
      );
    }
    for (; this.seenArp < lab.arp.length; this.seenArp++) {
      const r = lab.arp[this.seenArp];
      if (!r) continue;
      const who = nodeByMac(lab.plan, r.mac)?.name ?? r.mac;
      if (r.kind === 'reply' && who !== this.owner) {
        this.owner = who;
        this.write(`${this.rel(r.t)}  ${'arp'.padEnd(8)} ${eip} is-at ${r.mac} (${who})`);
      } else if (r.kind !== 'reply') {
        this.write(
          `${this.rel(r.t)}  ${'arp'.padEnd(8)} ${r.kind === 'na' ? 'neighbour advertisement' : 'gratuitous ARP'} from ${who}`,
        );
      }
    }
  }
}
