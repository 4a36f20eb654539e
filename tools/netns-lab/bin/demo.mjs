#!/usr/bin/env node
// The netns lab (issue "netns lab: npm run demo ...") has not landed yet. Say so plainly and fail,
// rather than pretend a failover happened.
console.error(
  [
    'egressgateway-ts: the demo is not available yet.',
    'It needs the netns lab (tools/netns-lab), the controller and the agent, which are still being built.',
    'What works today: `npm test` (libraries and their tests). See README.md for the status of each package.',
  ].join('\n'),
);
process.exit(1);
