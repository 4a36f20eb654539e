// The embedded API server in its own process, so a benchmarked app's RSS and CPU are its own.
// IPC: sends { url, kubeconfigYaml } once listening; answers 'usage' with memory and CPU, exits on 'stop'.
import { startApiServer } from '@egressgateway/apiserver';

const server = await startApiServer({ port: 0, bookmarkIntervalMs: 5000 });
process.send({ url: server.url, kubeconfigYaml: server.kubeconfigYaml });
process.on('message', async (m) => {
  if (m === 'usage') {
    process.send({
      mem: process.memoryUsage(),
      cpu: process.cpuUsage(),
      maxRss: process.resourceUsage().maxRSS * 1024, // bytes, as every other bench child reports it
    });
  } else if (m === 'stop') {
    await server.close();
    process.exit(0);
  }
});
