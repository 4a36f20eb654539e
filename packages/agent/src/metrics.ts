import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The agent's Prometheus metrics, on their own registry. */
export function createAgentMetrics(registry = new Registry()) {
  const seconds = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  return {
    registry,
    heartbeatLatency: new Histogram({
      name: 'egw_agent_heartbeat_seconds',
      help: 'heartbeat write latency (sent to acknowledged)',
      buckets: seconds,
      registers: [registry],
    }),
    heartbeatFailures: new Counter({
      name: 'egw_agent_heartbeat_failures_total',
      help: 'heartbeat writes that failed',
      registers: [registry],
    }),
    eipsHeld: new Gauge({
      name: 'egw_agent_eips_held',
      help: 'EIPs bound on this node',
      registers: [registry],
    }),
    applyDuration: new Histogram({
      name: 'egw_agent_apply_seconds',
      help: 'datapath apply duration',
      buckets: seconds,
      registers: [registry],
    }),
    applyFailures: new Counter({
      name: 'egw_agent_apply_failures_total',
      help: 'datapath applies that failed',
      registers: [registry],
    }),
    fencings: new Counter({
      name: 'egw_agent_fencing_total',
      help: 'times the agent withdrew its EIPs because no heartbeat was acknowledged in time',
      registers: [registry],
    }),
    fenced: new Gauge({
      name: 'egw_agent_fenced',
      help: '1 while the agent holds no EIPs because it is fenced',
      registers: [registry],
    }),
    egressLinkUsable: new Gauge({
      name: 'egw_agent_egress_link_usable',
      help: '1 while the egress interface exists, is up and has carrier; 0 while its EIPs are handed over',
      registers: [registry],
    }),
    eipConflicts: new Gauge({
      name: 'egw_agent_eip_conflicts',
      help: 'EIPs held by this node that another host on the LAN answers for too (last probe)',
      registers: [registry],
    }),
    eipConflictsFound: new Counter({
      name: 'egw_agent_eip_conflicts_found_total',
      help: 'conflicts found: another host (or another MAC than before) answering for an EIP this node holds',
      registers: [registry],
    }),
    peerAdvertsSent: new Counter({
      name: 'egw_agent_peer_adverts_sent_total',
      help: 'gateway peer adverts sent (each to every other member of its gateway)',
      registers: [registry],
    }),
    peerAdvertsReceived: new Counter({
      name: 'egw_agent_peer_adverts_received_total',
      help: 'gateway peer adverts admitted (tag, source, time window and sequence checked)',
      registers: [registry],
    }),
    peerAdvertsRejected: new Counter({
      name: 'egw_agent_peer_adverts_rejected_total',
      help: 'gateway peer datagrams refused (never acted on) or adverts not sent, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    peersAlive: new Gauge({
      name: 'egw_agent_peers_alive',
      help: 'members of the gateway heard from within the dead interval D (this node not counted)',
      labelNames: ['gateway'] as const,
      registers: [registry],
    }),
    peerMode: new Gauge({
      name: 'egw_agent_peer_mode',
      help: '1 for the mode a gateway runs in on this node: peers (the peer protocol decides) or fallback (API fencing, as without peers)',
      labelNames: ['gateway', 'mode'] as const,
      registers: [registry],
    }),
    peerTakeovers: new Counter({
      name: 'egw_agent_peer_takeovers_total',
      help: 'EIPs this node took over from another node by the peer protocol (before the controller moved them)',
      labelNames: ['gateway'] as const,
      registers: [registry],
    }),
  };
}

/** The agent's metrics. */
export type AgentMetrics = ReturnType<typeof createAgentMetrics>;
