// Forwards connections from a Unix socket (a file in the run folder, reachable from every network
// namespace) to host:port as seen from the namespace this runs in. The lab runs it in the control
// namespace so that the orchestrator and kubectl, in the host namespace, reach the API server
// without any change to the host's network.
// Usage: node unix-forward.mjs <socket-path> <host> <port> [<ca-file>]
// With <ca-file> the upstream side is TLS, verified against that CA (read again for every
// connection: the API server makes a new certificate when it restarts), and the socket side
// stays plain HTTP.
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const [path, host, port, caFile] = process.argv.slice(2);
rmSync(path, { force: true });
net
  .createServer((c) => {
    const u = caFile
      ? tls.connect({ host, port: Number(port), ca: readFileSync(caFile) })
      : net.connect({ host, port: Number(port) });
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  })
  .listen(path, () => process.stdout.write('ready\n'));
