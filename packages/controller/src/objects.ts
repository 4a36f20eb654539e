import type { KubeObject } from '@egressgateway/kube';
import type { NodeView } from './nodes.js';

/** The metadata the controller reads from any cached object. */
export type Obj = KubeObject & {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
};

/** A Node as cached: its {@link NodeView}. */
export type NodeObj = Obj & NodeView;
