/**
 * `@egressgateway/apiserver`: an embedded Kubernetes API server for local runs and tests.
 *
 * The export list is explicit: the server, its CLI, the replaceable storage engine, the verbs
 * without HTTP, users/RBAC/request records, kubeconfig and certificate helpers. The HTTP layer's
 * building blocks (routing, patch algorithms, selectors, discovery, tables, protobuf, paging) are
 * internal: they are reached through the server.
 *
 * @packageDocumentation
 */
export {
  ApiCore,
  type CoreEnv,
  type ListOptions,
  type ListResult,
  type Scope,
  type WriteOptions,
} from './api-core.js';
export { ANONYMOUS, parseTokenFile, type RequestRecord, type TokenUser, type UserInfo } from './audit.js';
export { SERVICE_CIDR } from './builtin-defaults.js';
export { buildProgram, type CliOptions, runCli } from './cli.js';
export { ApiError, type ErrorTarget, type StatusBody, type StatusCause } from './errors.js';
export { createRequestHandler, type HandlerOptions, type RequestHandler } from './http-handler.js';
export {
  type DroppedTail,
  FileJournal,
  JOURNAL_FILE,
  type Journal,
  JournalCorruptError,
  type JournalRecord,
} from './journal.js';
export { buildKubeconfig, type KubeconfigDoc, kubeconfigYaml } from './kubeconfig.js';
export { MemoryStorage, type MemoryStorageOptions } from './memory-storage.js';
export {
  authorize,
  type PolicyRule,
  type RbacDecision,
  type RbacGrant,
  type RbacObject,
} from './rbac.js';
export { Registry, type ServedGroup, type ServedResource, validateCrd } from './registry.js';
export { BUILTIN_RESOURCES, type PrinterColumn, type ResourceInfo } from './resources.js';
export { type ApiServer, type ApiServerOptions, startApiServer } from './server.js';
export type { EventsSince, Storage, StoredEvent } from './storage.js';
export { type CertAndKey, generateSelfSigned, TlsSetupError } from './tls.js';
export type { JsonObject, JsonValue, KubeObject, ObjectMeta, WatchEventType } from './types.js';
