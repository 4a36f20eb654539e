import type { ServerResponse } from 'node:http';
import type { ApiCore } from './api-core.js';
import { ApiError } from './errors.js';
import { matchesSelectors } from './list-page.js';
import type { ResourceInfo } from './resources.js';
import type { FieldRequirement, LabelRequirement } from './selectors.js';
import type { StoredEvent } from './storage.js';
import { buildTable } from './table.js';
import type { KubeObject, WatchEventType } from './types.js';

/** Parameters of one watch request. */
export interface WatchRequest {
  info: ResourceInfo;
  /** `''` for all namespaces (or cluster-scoped). */
  namespace: string;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  /** `undefined`, `''` or `'0'`: start with the current state as ADDED events. */
  resourceVersion: string | undefined;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  /** The stream ends (normally) after this long. */
  timeoutMs: number;
  /** Interval of BOOKMARK events when bookmarks are allowed. */
  bookmarkIntervalMs: number;
  /** Events are one-row Tables (kubectl get -w). */
  table: boolean;
  /** A slow client whose unsent backlog exceeds this is disconnected (it will re-watch from its last RV). */
  maxBacklogBytes: number;
}

/** Handle on an open watch, for shutdown. */
export interface OpenWatch {
  close(): void;
}

/**
 * Streams a watch as newline-terminated JSON events. Events committed while the stream is open
 * are written in commit order; a resume from a resourceVersion older than the retained window gets
 * one `ERROR` event with a 410 `Expired` Status (HTTP 200, as the real server answers), then EOF.
 * Throws {@link ApiError} (before anything is written) for an unparsable resourceVersion.
 */
export function serveWatch(
  core: ApiCore,
  w: WatchRequest,
  res: ServerResponse,
  onClose: () => void,
): OpenWatch {
  const rvText = w.resourceVersion;
  const fromState = rvText === undefined || rvText === '' || rvText === '0';
  const fromRv = fromState ? 0 : Number(rvText);
  if (!fromState && (!Number.isSafeInteger(fromRv) || fromRv < 0)) {
    throw ApiError.badRequest(`invalid resource version: ${String(rvText)}`);
  }
  const storageKey = w.info.storageKey;
  const inNs = (o: KubeObject | undefined): boolean =>
    o !== undefined &&
    (w.namespace === '' || o.metadata.namespace === w.namespace) &&
    matchesSelectors(o, w.labels, w.fields);
  let columnsSent = false;
  let closed = false;

  const write = (type: WatchEventType | 'BOOKMARK' | 'ERROR', object: unknown, e?: StoredEvent): void => {
    if (closed) return;
    let line: string;
    if (w.table && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      const t = buildTable(
        w.info,
        [object as KubeObject],
        String(core.storage.currentRv()),
        core.env.now(),
        !columnsSent,
      );
      columnsSent = true;
      line = `${JSON.stringify({ type, object: t })}\n`;
    } else if (e !== undefined && e.type === type && object === e.object) {
      // Shared by every watcher of this event: serialised once.
      e.line ??= `${JSON.stringify({ type, object })}\n`;
      line = e.line;
    } else {
      line = `${JSON.stringify({ type, object })}\n`;
    }
    res.write(line);
    if (res.writableLength > w.maxBacklogBytes) {
      // end() would wait for the backlog to drain; a stalled client must be cut off now.
      finish();
      res.destroy();
    }
  };

  const deliver = (e: StoredEvent): void => {
    // A watch from a resourceVersion the server has not reached yet starts after it.
    if (e.rv <= fromRv) return;
    const now = inNs(e.object);
    const before = e.type !== 'ADDED' && inNs(e.prev);
    const object = core.present(w.info, e.object);
    if (e.type === 'MODIFIED') {
      if (now && before) write('MODIFIED', object, e);
      else if (now) write('ADDED', object, e);
      else if (before) write('DELETED', object, e);
    } else if (now) {
      write(e.type, object, e);
    }
  };

  const bookmark = (initialEnd: boolean): void => {
    const metadata: KubeObject['metadata'] = { resourceVersion: String(core.storage.currentRv()) };
    if (initialEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
    write('BOOKMARK', {
      kind: w.info.kind,
      apiVersion: core.present(w.info, { metadata: {} }).apiVersion,
      metadata,
    });
  };

  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  // Send the headers now, as kube-apiserver does: clients (client-node's Watch) only return
  // their abort handle once the response has started, so a quiet watch must not wait for its first event.
  res.flushHeaders();
  let unsubscribe: () => void = () => {};
  const timers: NodeJS.Timeout[] = [];
  function finish(): void {
    if (closed) return;
    closed = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    res.end();
    onClose();
  }
  res.on('close', finish);

  if (fromState) {
    const ns = w.info.namespaced && w.namespace !== '' ? w.namespace : undefined;
    for (const o of core.storage.list(storageKey, ns)) if (inNs(o)) write('ADDED', core.present(w.info, o));
    if (w.allowBookmarks && w.sendInitialEvents) bookmark(true);
  } else {
    const since = core.storage.eventsSince(storageKey, fromRv);
    if (!since.ok) {
      const status = ApiError.gone(`too old resource version: ${fromRv} (${since.oldestRv})`).toStatus();
      write('ERROR', status);
      finish();
      return { close: finish };
    }
    for (const e of since.events) deliver(e);
  }
  // Subscribing in the same tick as the replay: no event can fall between the two.
  unsubscribe = core.storage.subscribe(storageKey, deliver);
  timers.push(setTimeout(finish, w.timeoutMs));
  if (w.allowBookmarks && !w.table) {
    timers.push(setInterval(() => bookmark(false), w.bookmarkIntervalMs));
  }
  return { close: finish };
}
