// Forwards connections from a Unix socket (a file in the run folder, reachable from every network
// namespace) to host:port as seen from the namespace this runs in. The lab runs it in the control
// namespace so that the orchestrator and kubectl, in the host namespace, reach the API server
// without any change to the host's network.
// Usage: node unix-forward.mjs <socket-path> <host> <port>
import { rmSync } from 'node:fs';
import net from 'node:net';

const [path, host, port] = process.argv.slice(2);
rmSync(path, { force: true });
net
  .createServer((c) => {
    const u = net.connect({ host, port: Number(port) });
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  })
  .listen(path, () => process.stdout.write('ready\n'));
