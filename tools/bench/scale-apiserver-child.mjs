// The embedded API server in its own process for the scale benchmark (tools/bench/scale.mjs), with
// counters kept here, outside the server: requests by verb and resource (the server's `onRequest`
// hook; a watch is counted when it ends), and the response bytes and watch events it sends (by
// wrapping ServerResponse.write/end in this process only; the server's code is unchanged).
// IPC: sends { url, kubeconfigYaml } once listening; 'usage' -> memory, CPU and the counters.
import { ServerResponse } from 'node:http';
import { startApiServer } from '@egressgateway/apiserver';

const counters = { bytes: 0, watchEvents: 0, bookmarks: 0, eventsByResource: {}, requests: {} };
const resourceOf = (url) => /\/([a-z]+)(?:\?|$)/.exec(url ?? '')?.[1] ?? '?';
const size = (chunk) =>
  chunk === undefined || chunk === null || typeof chunk === 'function'
    ? 0
    : typeof chunk === 'string'
      ? Buffer.byteLength(chunk)
      : chunk.length;
const { write, end } = ServerResponse.prototype;
ServerResponse.prototype.write = function (chunk, ...rest) {
  counters.bytes += size(chunk);
  // The watch stream writes one event per write() call (packages/apiserver/src/watch-stream.ts).
  if (typeof chunk === 'string' && chunk.startsWith('{"type":"')) {
    if (chunk.startsWith('{"type":"BOOKMARK"')) counters.bookmarks++;
    else {
      counters.watchEvents++;
      const r = resourceOf(this.req?.url);
      counters.eventsByResource[r] = (counters.eventsByResource[r] ?? 0) + 1;
    }
  }
  return write.call(this, chunk, ...rest);
};
ServerResponse.prototype.end = function (chunk, ...rest) {
  counters.bytes += size(chunk);
  return end.call(this, chunk, ...rest);
};

const server = await startApiServer({
  port: 0,
  bookmarkIntervalMs: 5000,
  // One TCP connection per watch (client-node speaks HTTP/1.1): 100 agents with 7-9 watches each,
  // the controller's and the driver's keep-alive sockets pass the server's default of 1,000, and a
  // connection over the limit is dropped (the driver saw ECONNRESET / socket hang up).
  maxConnections: 5000,
  onRequest: (r) => {
    const key = `${r.verb} ${r.resource ?? 'non-resource'}${r.subresource ? `/${r.subresource}` : ''}`;
    counters.requests[key] = (counters.requests[key] ?? 0) + 1;
  },
});
process.send({ url: server.url, kubeconfigYaml: server.kubeconfigYaml });
process.on('message', async (m) => {
  if (m === 'usage') {
    process.send({
      mem: process.memoryUsage(),
      cpu: process.cpuUsage(),
      maxRss: process.resourceUsage().maxRSS * 1024,
      counters: structuredClone(counters),
    });
  } else if (m === 'stop') {
    await server.close();
    process.exit(0);
  }
});
