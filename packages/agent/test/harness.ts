import { connect, createServer, type Server, type Socket } from 'node:net';
import type { NodeDatapathState } from '@egressgateway/datapath';
import type { Binder } from '../src/agent.js';

/** The agent's clock (`systemClock`: monotonic, anchored at the time origin). */
const monotonicNow = () => performance.timeOrigin + performance.now();

/**
 * A binder that records what it is asked to do, with timestamps. Like `DatapathBinder`, an apply
 * that binds an EIP leases it for the lease passed with the call, or else for the binder's default
 * (`defaultLeaseMs`, the agent's `eipLeaseMs`): `leaseEnd` is when that lease runs out on the agent's
 * clock, i.e. when a node whose agent died right after the bind stops claiming the EIP.
 */
export class RecordingBinder implements Binder {
  readonly calls: Array<{
    at: number;
    op: string;
    desired?: NodeDatapathState;
    lifetime?: number;
    leaseMs?: number;
    leaseEnd?: number;
  }> = [];
  current: NodeDatapathState | undefined;
  constructor(private readonly defaultLeaseMs = 30_000) {}
  async apply(desired: NodeDatapathState, options?: { leaseMs?: number }) {
    const now = monotonicNow();
    const leaseMs = options?.leaseMs ?? this.defaultLeaseMs;
    const binds = desired.eips.some((e) => !this.holds(e));
    this.calls.push({
      at: Date.now(),
      op: 'apply',
      desired,
      ...(binds ? { leaseMs, leaseEnd: now + leaseMs } : {}),
    });
    this.current = desired;
    return { ok: true };
  }
  async renewEips(lifetime: number, leaseMs?: number) {
    this.calls.push({
      at: monotonicNow(),
      op: 'renew',
      lifetime,
      ...(leaseMs !== undefined ? { leaseMs } : {}),
    });
  }
  async withdrawEips() {
    this.calls.push({ at: Date.now(), op: 'withdrawEips' });
    if (this.current) this.current = { ...this.current, eips: [] };
  }
  async withdrawAll() {
    this.calls.push({ at: Date.now(), op: 'withdrawAll' });
    this.current = undefined;
  }
  /** When this binder first held `eip`, after `since`. */
  boundAt(eip: string, since = 0): number | undefined {
    return this.calls.find((c) => c.at >= since && c.op === 'apply' && c.desired?.eips.includes(eip))?.at;
  }
  holds(eip: string): boolean {
    return this.current?.eips.includes(eip) ?? false;
  }
}

/**
 * A TCP proxy in front of the API server that can cut one agent off: `block()` drops every
 * connection and leaves new ones hanging (a partition, not a refusal); `heal()` restores it.
 */
export class PartitionProxy {
  private readonly server: Server;
  private readonly open = new Set<Socket>();
  private blocked = false;
  port = 0;

  constructor(private readonly targetPort: number) {
    this.server = createServer((client) => {
      this.open.add(client);
      client.on('close', () => this.open.delete(client));
      client.on('error', () => undefined);
      if (this.blocked) return; // hang
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.open.add(upstream);
      upstream.on('close', () => this.open.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  block(): void {
    this.blocked = true;
    for (const s of this.open) s.destroy();
  }

  heal(): void {
    this.blocked = false;
    for (const s of this.open) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export async function eventually<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
