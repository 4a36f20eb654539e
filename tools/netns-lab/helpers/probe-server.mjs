// The external server of the netns lab, run inside the `ext` namespace. It records every probe it
// receives as one JSON line on stdout: {t, k, s, p, q}
//   t: arrival time (ms since the epoch, sub-ms precision), k: kind, s: source address, p: source port,
//   q: sequence number sent by the pod (when there is one).
// Kinds: u4/u6 UDP datagrams, c4 TCP connection accepted, s4 a line on a long-lived TCP stream.
// Usage: node probe-server.mjs <ipv4> <ipv6> <udpPort> <connectPort> <streamPort>
import dgram from 'node:dgram';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const [ip4, ip6, udpPort, connectPort, streamPort] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const strip = (a) => (a.startsWith('::ffff:') ? a.slice(7) : a);

for (const [addr, kind] of [
  [ip4, 'u4'],
  [ip6, 'u6'],
]) {
  const s = dgram.createSocket(kind === 'u4' ? 'udp4' : 'udp6');
  s.on('message', (m, r) => out({ t: now(), k: kind, s: r.address, p: r.port, q: Number(m.toString()) }));
  s.on('error', (e) => out({ t: now(), k: 'error', what: kind, error: e.message }));
  s.bind(Number(udpPort), addr);
}
net
  .createServer((c) => {
    out({ t: now(), k: 'c4', s: strip(c.remoteAddress ?? ''), p: c.remotePort });
    c.on('error', () => {});
    c.end();
  })
  .listen(Number(connectPort), ip4);
net
  .createServer((c) => {
    const src = strip(c.remoteAddress ?? '');
    const port = c.remotePort;
    out({ t: now(), k: 'open', s: src, p: port });
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      let i = buf.indexOf('\n');
      while (i >= 0) {
        out({ t: now(), k: 's4', s: src, p: port, q: Number(buf.slice(0, i)) });
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    });
    c.on('error', (e) => out({ t: now(), k: 'close', s: src, p: port, error: e.message }));
    c.on('close', () => out({ t: now(), k: 'close', s: src, p: port }));
  })
  .listen(Number(streamPort), ip4);
out({ t: now(), k: 'ready' });
