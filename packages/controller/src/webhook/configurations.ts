/** Where the webhook configurations send requests, and how. */
export interface WebhookConfigurationOptions {
  /** Namespace of the controller's Service. */
  readonly namespace: string;
  /** The controller's Service (default `egressgateway-controller`). */
  readonly service?: string;
  /** The Service's webhook port (default 5822, the chart's `controller.webhookPort`). */
  readonly port?: number;
  /** Name of both configurations (default `egressgateway`; the controller's `--webhook-configuration`). */
  readonly name?: string;
  /** For gateways and policies (default `Fail`); EgressClusterInfo always has `Ignore`. */
  readonly failurePolicy?: 'Fail' | 'Ignore';
  readonly timeoutSeconds?: number;
}

const rule = (operations: string[], resources: string[], scope: string) => ({
  operations,
  apiGroups: ['egressgateway.spidernet.io'],
  apiVersions: ['v1beta1'],
  resources,
  scope,
});

/**
 * The ValidatingWebhookConfiguration and MutatingWebhookConfiguration of the controller's
 * admission webhook, exactly as the Helm chart renders them with its defaults (a test keeps the two
 * equal): for installing without Helm, and for tests. `caBundle` is left out: the controller
 * writes it.
 *
 * @example
 * for (const conf of webhookConfigurations({ namespace: 'egressgateway' })) await objects.create(conf);
 */
export function webhookConfigurations(o: WebhookConfigurationOptions) {
  const service = (path: string) => ({
    service: {
      name: o.service ?? 'egressgateway-controller',
      namespace: o.namespace,
      path,
      port: o.port ?? 5822,
    },
  });
  const common = (failurePolicy: string) => ({
    failurePolicy,
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: o.timeoutSeconds ?? 5,
  });
  const name = o.name ?? 'egressgateway';
  const policy = o.failurePolicy ?? 'Fail';
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name },
      webhooks: [
        {
          name: 'validate.egressgateway.spidernet.io',
          clientConfig: service('/validate'),
          rules: [
            rule(['CREATE', 'UPDATE', 'DELETE'], ['egressgateways'], 'Cluster'),
            rule(['CREATE', 'UPDATE'], ['egresspolicies', 'egressclusterpolicies'], '*'),
          ],
          ...common(policy),
        },
        {
          name: 'validate-clusterinfo.egressgateway.spidernet.io',
          clientConfig: service('/validate'),
          rules: [rule(['CREATE', 'UPDATE', 'DELETE'], ['egressclusterinfos'], 'Cluster')],
          ...common('Ignore'),
        },
      ],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name },
      webhooks: [
        {
          name: 'mutate.egressgateway.spidernet.io',
          clientConfig: service('/mutate'),
          rules: [
            rule(['CREATE', 'UPDATE'], ['egressgateways'], 'Cluster'),
            rule(['CREATE'], ['egresspolicies', 'egressclusterpolicies'], '*'),
          ],
          ...common(policy),
          reinvocationPolicy: 'Never',
        },
      ],
    },
  ];
}
