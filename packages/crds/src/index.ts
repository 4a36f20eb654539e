export * from './constants.js';
export * from './crd.js';
export * from './errors.js';
export { computeIpUsage, type IpUsage } from './ip-usage.js';
export * from './reference.js';
export * from './schemas/index.js';
export * from './validate.js';
export * from './validate-cross.js';
export * from './validate-update.js';
