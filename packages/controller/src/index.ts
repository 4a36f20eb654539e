/**
 * `@egressgateway/controller`: the controller app as a library (see the README's "Embed" section). The
 * export list is explicit; the parts the app is composed of stay internal.
 *
 * @packageDocumentation
 */
export { TunnelCidrError, type TunnelCidrs } from './allocator.js';
export { type ControllerOptions, EgressController, type WriteRecord } from './controller.js';
export { buildProgram, type MainOptions, main, type RunningController, runCli } from './main.js';
export { type ControllerMetrics, createControllerMetrics } from './metrics.js';
export { type NodeView, nodeView } from './nodes.js';
export { CONTROLLER_OPTIONS, type ControllerSettings, timingWarnings } from './settings.js';
export { type WebhookConfigurationOptions, webhookConfigurations } from './webhook/configurations.js';
