import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The controller's Prometheus metrics, on their own registry. */
export function createControllerMetrics(registry = new Registry()) {
  const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    registry,
    leader: new Gauge({
      name: 'egw_controller_leader',
      help: '1 while this replica leads',
      registers: [registry],
    }),
    failovers: new Counter({
      name: 'egw_failovers_total',
      help: 'EIPs moved to another node, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    detectionDelay: new Histogram({
      name: 'egw_heartbeat_timeout_detection_delay_seconds',
      help: 'how long after its eviction deadline a heartbeat timeout was acted on',
      buckets: seconds,
      registers: [registry],
    }),
    decisionToWritten: new Histogram({
      name: 'egw_failover_write_seconds',
      help: 'from a failover decision to its gateway status written',
      buckets: seconds,
      registers: [registry],
    }),
    policyStatusBacklog: new Gauge({
      name: 'egw_policy_status_backlog',
      help: 'policy status writes decided but not started yet (they run behind the gateway status, off the reconcile)',
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'egw_reconcile_duration_seconds',
      help: 'one reconcile: engine plus writes',
      buckets: seconds,
      registers: [registry],
    }),
    tunnelPhases: new Gauge({
      name: 'egw_tunnels',
      help: 'EgressTunnels by phase',
      labelNames: ['phase'],
      registers: [registry],
    }),
    eips: new Gauge({
      name: 'egw_eips',
      help: 'EIPs in use by policies, by state (assigned, unassigned)',
      labelNames: ['state'],
      registers: [registry],
    }),
    rrSharing: new Gauge({
      name: 'egw_rr_policies_sharing_eip',
      help: 'rr policies that share their EIP with other policies because the gateway pool was used up (the PoolShared warning), by gateway',
      labelNames: ['gateway'],
      registers: [registry],
    }),
    writes: new Counter({
      name: 'egw_controller_writes_total',
      help: 'status writes, by resource',
      labelNames: ['resource'],
      registers: [registry],
    }),
    webhookDuration: new Histogram({
      name: 'egw_webhook_request_duration_seconds',
      help: 'admission webhook requests: from request to answer, by webhook (validate, mutate), kind, operation and outcome (allowed, denied, error)',
      labelNames: ['webhook', 'kind', 'operation', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    webhookCertExpiry: new Gauge({
      name: 'egw_webhook_certificate_expiry_timestamp_seconds',
      help: 'when the serving certificate (cert) and the CA (ca) this replica uses expire',
      labelNames: ['certificate'],
      registers: [registry],
    }),
    endpointSliceWrites: new Counter({
      name: 'egw_endpoint_slice_writes_total',
      help: 'endpoint slice writes, by kind (EgressEndpointSlice, EgressClusterEndpointSlice) and operation (create, update, delete)',
      labelNames: ['kind', 'op'],
      registers: [registry],
    }),
    endpointSliceSyncDuration: new Histogram({
      name: 'egw_endpoint_slice_sync_seconds',
      help: 'one endpoint slice sync: every policy that changed since the last, planned and written',
      buckets: seconds,
      registers: [registry],
    }),
    endpointSlicePending: new Gauge({
      name: 'egw_endpoint_slice_pending_policies',
      help: 'policies whose endpoint slices wait for the next sync',
      registers: [registry],
    }),
    peerClaims: new Counter({
      name: 'egw_controller_peer_claims_total',
      help: 'peer claims (takeovers the gateway peers made) judged by the leader, once per claim and result: followed, recorded, stale, ineligible, contested, unknown, malformed',
      labelNames: ['result'],
      registers: [registry],
    }),
    apiErrors: new Counter({
      name: 'egw_controller_api_errors_total',
      help: 'failed API calls, by operation and HTTP status',
      labelNames: ['op', 'status'],
      registers: [registry],
    }),
  };
}

/** The controller's metrics. */
export type ControllerMetrics = ReturnType<typeof createControllerMetrics>;
