// Runs a PeerTransport inside a network namespace for udp.netns.test.ts.
// Protocol: one JSON request per stdin line {id, method, args}; one JSON reply per stdout line.
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';

const { PeerTransport } = await import(process.argv[2]);
const o = JSON.parse(process.argv[3]);
const keys = o.keys.map((k) => ({ id: k.id, secret: Buffer.from(k.secret, 'hex') }));
const received = [];
const transport = new PeerTransport({
  node: o.node,
  port: o.port,
  bind: o.bind,
  keys: () => keys,
  members: (group) => (o.groups[group] === undefined ? undefined : new Map(o.groups[group])),
  onAdvert: (advert, keyId) => received.push({ advert, keyId }),
  log: { warn: (fields, message) => process.stderr.write(`${JSON.stringify({ ...fields, message })}\n`) },
});
await transport.start();

const methods = {
  send: async (advert) => transport.send(advert),
  received: async () => received,
  rejections: async () => Object.fromEntries(transport.rejections),
  // A datagram from this namespace's own address but not from the transport (forgeries, replays).
  sendRaw: (hex, from, to, port) =>
    new Promise((resolve, reject) => {
      const s = createSocket(to.includes(':') ? 'udp6' : 'udp4');
      s.bind({ address: from, port: 0 }, () =>
        s.send(Buffer.from(hex, 'hex'), port, to, (err) => {
          s.close();
          if (err) reject(err);
          else resolve(true);
        }),
      );
    }),
  exit: async () => {
    setImmediate(async () => {
      await transport.close();
      process.exit(0);
    });
    return true;
  },
};

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const { id, method, args } = JSON.parse(line);
  try {
    const result = await methods[method](...(args ?? []));
    process.stdout.write(`${JSON.stringify({ id, result })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ id, error: { message: e.message } })}\n`);
  }
});
rl.on('close', async () => {
  await transport.close();
  process.exit(0);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
