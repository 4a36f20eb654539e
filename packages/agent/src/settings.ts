import {
  COMMON_OPTIONS,
  type ConfigOf,
  healthAddressOption,
  metricsAddressOption,
  option,
  parsers,
  SHARED_OPTIONS,
} from '@egressgateway/kube';

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
};

/** Resolved agent settings. */
export type AgentCliSettings = ConfigOf<typeof AGENT_OPTIONS>;
