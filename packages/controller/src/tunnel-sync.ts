import type { EgressTunnel } from '@egressgateway/crds';
import { EGRESS_TUNNELS, type KubeClient, type Logger, toKubeApiError } from '@egressgateway/kube';
import type { TunnelAllocator } from './allocator.js';
import type { Obj } from './objects.js';
import { planTunnels } from './tunnels.js';
import type { WriteLog } from './write-log.js';

/** What {@link TunnelSync} needs. */
export interface TunnelSyncOptions {
  client: KubeClient;
  log: Logger;
  allocator: TunnelAllocator;
  writeLog: WriteLog;
  /** Names of the cached Nodes. */
  nodeNames(): string[];
  /** The cached tunnels. */
  tunnels(): Array<EgressTunnel & Obj>;
}

/**
 * Keeps one EgressTunnel per Node, each with its allocation: creates, allocates and deletes
 * tunnels as {@link planTunnels} says, only when Nodes or allocations changed since the last run.
 */
export class TunnelSync {
  /** Nodes or tunnel allocations changed since the tunnel lifecycle was last planned. */
  private dirty = true;

  constructor(private readonly o: TunnelSyncOptions) {}

  /** Plans again on the next {@link TunnelSync.syncIfDirty}. */
  markDirty(): void {
    this.dirty = true;
  }

  /** Runs the lifecycle if something changed; stays dirty when a write fails. */
  async syncIfDirty(signal: AbortSignal): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      await this.sync(signal);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  private async sync(signal: AbortSignal): Promise<void> {
    const { client: c, log, writeLog } = this.o;
    for (const action of planTunnels(this.o.nodeNames(), this.o.tunnels(), this.o.allocator)) {
      if (signal.aborted) return;
      try {
        if (action.type === 'create') {
          log.info({ tunnel: action.name }, 'creating tunnel for node');
          await c.create(EGRESS_TUNNELS, { metadata: { name: action.name }, spec: {} } as Obj);
          writeLog.record('egresstunnels', action.name, undefined, { create: true });
        } else if (action.type === 'delete') {
          log.info({ tunnel: action.name }, 'deleting tunnel of removed node');
          await c.delete(EGRESS_TUNNELS, action.name);
          writeLog.record('egresstunnels', action.name, undefined, { delete: true });
        } else {
          log.info(
            { tunnel: action.name, mark: action.status.mark, phase: action.status.phase },
            'allocating tunnel',
          );
          await c.patchStatus(EGRESS_TUNNELS, action.name, undefined, { status: action.status });
          writeLog.record('egresstunnels', action.name, undefined, { status: action.status });
        }
      } catch (err) {
        const e = toKubeApiError(err);
        if (e.status !== 409 && e.status !== 404) throw e;
      }
    }
  }
}
