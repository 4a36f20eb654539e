/**
 * `@egressgateway/election/kubernetes`: the `coordination.k8s.io/v1` Lease lock. Its types come
 * from `@kubernetes/client-node` (an optional peer dependency), which is why it has its own entry
 * point: the package root's types do not need client-node.
 *
 * @packageDocumentation
 */
export {
  CLIENT_NODE_RANGE,
  fromLease,
  KubernetesLeaseLock,
  type KubernetesLeaseLockOptions,
  type LeaseApi,
  type LeaseMiddlewareStep,
  type LeaseRequestOptions,
  type LeaseWatch,
} from './kubernetes-lease-lock.js';
