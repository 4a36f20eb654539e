// Runs the built API server in its own process so the benchmark's clients do not share its heap
// or event loop. Talks to the parent over IPC: sends { url } once listening, answers 'mem'.
import { startApiServer } from '../dist/index.js';

const dataDir = process.argv[2];
const server = await startApiServer({ port: 0, ...(dataDir ? { dataDir } : {}) });
process.send({ url: server.url });
process.on('message', async (m) => {
  if (m === 'mem') {
    globalThis.gc?.();
    globalThis.gc?.();
    process.send({ mem: process.memoryUsage() });
  } else if (m === 'stop') {
    await server.close();
    process.exit(0);
  }
});
