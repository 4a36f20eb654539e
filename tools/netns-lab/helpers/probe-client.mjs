// The pod side of the lab's probe, run inside a pod namespace. Every <intervalMs> it sends one UDP
// datagram over IPv4 and one over IPv6 (payload: the sequence number), starts one TCP connection
// attempt, and writes one line on a long-lived TCP stream. It reports on stdout, as JSON lines, only
// what the server cannot see: stream errors (a reset or a timeout would break the 5-tuple) and
// stream (re)connections with their local port.
// Usage: node probe-client.mjs <server-ipv4> <server-ipv6> <udpPort> <connectPort> <streamPort> <intervalMs>
import dgram from 'node:dgram';
import net from 'node:net';

const [ip4, ip6, udpPort, connectPort, streamPort, interval] = process.argv.slice(2);
const out = (o) => process.stdout.write(`${JSON.stringify({ t: Date.now(), ...o })}\n`);
const u4 = dgram.createSocket('udp4');
const u6 = dgram.createSocket('udp6');
for (const s of [u4, u6]) s.on('error', () => {});
let seq = 0;
let stream;
let streamSeq = 0;

function openStream() {
  const c = net.connect({ host: ip4, port: Number(streamPort) });
  c.setNoDelay(true);
  c.on('connect', () => out({ k: 'stream-open', localPort: c.localPort }));
  c.on('error', (e) => out({ k: 'stream-error', error: e.code ?? e.message }));
  c.on('close', () => {
    if (stream === c) {
      stream = undefined;
      setTimeout(openStream, 200);
    }
  });
  stream = c;
}
openStream();

setInterval(() => {
  seq += 1;
  const payload = Buffer.from(String(seq));
  u4.send(payload, Number(udpPort), ip4);
  u6.send(payload, Number(udpPort), ip6);
  const c = net.connect({ host: ip4, port: Number(connectPort), timeout: 1000 });
  c.on('connect', () => c.destroy());
  c.on('timeout', () => c.destroy());
  c.on('error', () => {});
  if (stream && !stream.connecting && stream.writable) {
    streamSeq += 1;
    stream.write(`${streamSeq}\n`);
  }
}, Number(interval));
out({ k: 'ready' });
