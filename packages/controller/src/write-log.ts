import type { Clock } from '@egressgateway/kube';

/** One write, for the write log (tests and debugging). */
export interface WriteRecord {
  at: number;
  resource: string;
  name: string;
  namespace?: string;
  body: unknown;
}

/** Records kept: the last 10 000. */
const LIMIT = 10_000;

/** Every write this replica made, oldest first, bounded to the last 10 000. */
export class WriteLog {
  /** The records (one array for the log's whole life; trimmed in place). */
  readonly records: WriteRecord[] = [];

  constructor(private readonly clock: Clock) {}

  /** Appends one write made now. */
  record(resource: string, name: string, namespace: string | undefined, body: unknown): void {
    this.records.push({ at: this.clock.now(), resource, name, ...(namespace ? { namespace } : {}), body });
    if (this.records.length > LIMIT) this.records.splice(0, this.records.length - LIMIT);
  }
}
