// What test/peer-node.mjs needs from the agent's sources, bundled by peers.netns.test.ts.
export { AgentPeers } from '../src/agent-peers.js';
export { createAgentMetrics } from '../src/metrics.js';
