import {
  COMMON_OPTIONS,
  type ConfigOf,
  healthAddressOption,
  metricsAddressOption,
  option,
  parsers,
  SHARED_OPTIONS,
} from '@egressgateway/kube';

/**
 * The agent's gateway peer timing defaults (ms): P 25 ms, D 175 ms, L 125 ms. Against the
 * protocol's own 50/200/150 (`DEFAULT_PEER_TIMING`) they detect a dead holder sooner (D) and leave
 * more room for late acknowledgements: the liveness bound `2δ < L/(1+ρ) - 2P/(1-ρ)` allows a
 * message delay δ of 36 ms instead of 23 ms, at twice the advert rate (each member sends one advert
 * to every other member per P: 40/s per peer). Checked in the netns peers lab beside a second lab
 * suite (docs/peers.md, "On the wire"). Until the datapath renewed leases through a long-lived nft,
 * a renewal took 20-80 ms and only 200/1000/700 ms held there.
 */
export const AGENT_PEER_TIMING = { advertPeriodMs: 25, deadIntervalMs: 175, leaseMs: 125 } as const;

/** Every agent setting, by flag, environment variable and config-file key (Helm names for timing). */
export const AGENT_OPTIONS = {
  ...COMMON_OPTIONS,
  ...SHARED_OPTIONS,
  healthAddress: healthAddressOption('0.0.0.0:8789'),
  metricsAddress: metricsAddressOption(),
  nodeName: option({
    key: 'nodeName',
    flag: '--node-name',
    env: 'NODE_NAME',
    description: 'this node (required)',
    parse: parsers.string,
    placeholder: '<name>',
  }),
  egressInterface: option({
    key: 'egressInterface',
    flag: '--egress-interface',
    env: 'EGW_EGRESS_INTERFACE',
    description:
      "interface for the underlay and the EIPs (default: that of the default route; upstream's tunnelDetectMethod interface=<name> sets it)",
    parse: parsers.string,
    placeholder: '<ifname>',
  }),
  fenceMarginMs: option({
    key: 'fenceMargin',
    flag: '--fence-margin',
    env: 'EGW_FENCE_MARGIN',
    description: 'seconds before the eviction timeout at which an unacknowledged agent withdraws its EIPs',
    parse: parsers.secondsToMs,
    default: 500,
    placeholder: '<seconds>',
  }),
  tunnelDevice: option({
    key: 'tunnelDevice',
    flag: '--tunnel-device',
    env: 'EGW_TUNNEL_DEVICE',
    description: 'VXLAN device name',
    parse: parsers.string,
    default: 'egress.vxlan',
    placeholder: '<name>',
  }),
  tunnelVni: option({
    key: 'tunnelVni',
    flag: '--tunnel-vni',
    env: 'EGW_TUNNEL_VNI',
    description: 'VXLAN network identifier',
    parse: parsers.positiveInt,
    default: 100,
    placeholder: '<vni>',
  }),
  tunnelPort: option({
    key: 'tunnelPort',
    flag: '--tunnel-port',
    env: 'EGW_TUNNEL_PORT',
    description: 'VXLAN UDP port',
    parse: parsers.positiveInt,
    default: 7789,
    placeholder: '<port>',
  }),
  conflictProbeIntervalMs: option({
    key: 'conflictProbeInterval',
    flag: '--conflict-probe-interval',
    env: 'EGW_CONFLICT_PROBE_INTERVAL',
    description:
      'seconds between probes asking the LAN whether another host answers for an EIP this node holds (0: only when binding)',
    parse: parsers.secondsToMs,
    default: 30_000,
    placeholder: '<seconds>',
  }),
  // Gateway peers (docs/peers.md, docs/operations.md "Gateway peers").
  peers: option({
    key: 'peers',
    flag: '--peers',
    env: 'EGW_PEERS',
    description:
      'gateway peers: the agents of a gateway keep EIPs through an API outage and take over a dead holder within D (needs the peer key Secret; without it the agent runs as with false)',
    parse: parsers.boolean,
    default: true,
    placeholder: '<true|false>',
  }),
  peerPort: option({
    key: 'peerPort',
    flag: '--peer-port',
    env: 'EGW_PEER_PORT',
    description: 'UDP port of the peer adverts on the node address (the same on every gateway node)',
    parse: parsers.positiveInt,
    default: 7790,
    placeholder: '<port>',
  }),
  peerAdvertPeriodMs: option({
    key: 'peerAdvertPeriod',
    flag: '--peer-advert-period',
    env: 'EGW_PEER_ADVERT_PERIOD',
    description: 'seconds between peer adverts (P)',
    parse: parsers.secondsToMs,
    default: AGENT_PEER_TIMING.advertPeriodMs,
    placeholder: '<seconds>',
  }),
  peerDeadIntervalMs: option({
    key: 'peerDeadInterval',
    flag: '--peer-dead-interval',
    env: 'EGW_PEER_DEAD_INTERVAL',
    description: 'seconds of silence after which a peer is dead and its EIPs are taken over (D)',
    parse: parsers.secondsToMs,
    default: AGENT_PEER_TIMING.deadIntervalMs,
    placeholder: '<seconds>',
  }),
  peerLeaseMs: option({
    key: 'peerLease',
    flag: '--peer-lease',
    env: 'EGW_PEER_LEASE',
    description:
      'seconds a peer acknowledgement lets the holder answer, from the advert it acknowledges (L; L/(1-ρ) + w must stay below D/(1+ρ))',
    parse: parsers.secondsToMs,
    default: AGENT_PEER_TIMING.leaseMs,
    placeholder: '<seconds>',
  }),
  peerRejoinDelayMs: option({
    key: 'peerRejoinDelay',
    flag: '--peer-rejoin-delay',
    env: 'EGW_PEER_REJOIN_DELAY',
    description:
      'seconds (J) after its first clean heartbeat acknowledgement since its start or an eviction before a node may take an EIP over on its API right; with it, a holder whose peers are all evicted keeps its EIPs (the API server as tie-breaker); 0: off',
    parse: parsers.secondsToMs,
    default: 1000,
    placeholder: '<seconds>',
  }),
  peerFallbackAfterMs: option({
    key: 'peerFallbackAfter',
    flag: '--peer-fallback-after',
    env: 'EGW_PEER_FALLBACK_AFTER',
    description:
      'seconds after the start without a valid advert from any peer (UDP blocked) after which a gateway runs on API fencing alone',
    parse: parsers.secondsToMs,
    default: 3000,
    placeholder: '<seconds>',
  }),
  peerKeySecret: option({
    key: 'peerKeySecret',
    flag: '--peer-key-secret',
    env: 'EGW_PEER_KEY_SECRET',
    description:
      'Secret with the HMAC keys of the peer adverts (items: key id -> at least 32 bytes; optional active)',
    parse: parsers.string,
    default: 'egressgateway-peer-key',
    placeholder: '<name>',
  }),
  podNamespace: option({
    key: 'podNamespace',
    flag: '--pod-namespace',
    env: 'POD_NAMESPACE',
    description:
      "this agent's namespace (the chart sets it from the downward API): its heartbeat Lease lives there, as the controller's watch expects (default kube-system)",
    parse: parsers.string,
    placeholder: '<ns>',
  }),
  peerKeyNamespace: option({
    key: 'peerKeyNamespace',
    flag: '--peer-key-namespace',
    env: 'POD_NAMESPACE',
    description: "namespace of the peer key Secret (default: the agent's own, from the downward API)",
    parse: parsers.string,
    default: 'kube-system',
    placeholder: '<ns>',
  }),
};

/** Resolved agent settings. */
export type AgentCliSettings = ConfigOf<typeof AGENT_OPTIONS>;
