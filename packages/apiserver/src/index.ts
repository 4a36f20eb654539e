export {
  ApiCore,
  type CoreEnv,
  type ListOptions,
  type ListResult,
  type Scope,
  type WriteOptions,
} from './api-core.js';
export {
  ANONYMOUS,
  auditLogWriter,
  parseTokenFile,
  type RequestRecord,
  rbacVerb,
  type TokenUser,
  type UserInfo,
} from './audit.js';
export { SERVICE_CIDR } from './builtin-defaults.js';
export { buildProgram, type CliOptions, runCli } from './cli.js';
export { aggregatedDiscovery, openApiGroupVersion, openApiRoot, SERVER_VERSION } from './discovery.js';
export { ApiError, type ErrorTarget, type StatusBody, type StatusCause } from './errors.js';
export {
  createRequestHandler,
  type HandlerOptions,
  type RequestHandler,
  refuseDotSegments,
} from './http-handler.js';
export {
  type DroppedTail,
  FileJournal,
  JOURNAL_FILE,
  type Journal,
  JournalCorruptError,
  type JournalRecord,
} from './journal.js';
export { buildKubeconfig, type KubeconfigDoc, kubeconfigYaml } from './kubeconfig.js';
export { decodeContinue, encodeContinue, listKey, matchesSelectors } from './list-page.js';
export { MemoryStorage, type MemoryStorageOptions } from './memory-storage.js';
export { jsonPatch, mergePatch, PATCH_TYPES, strategicMergePatch } from './patch.js';
export { decodeProtobufObject } from './protobuf.js';
export {
  authorize,
  forbiddenMessage,
  type PolicyRule,
  type RbacDecision,
  type RbacGrant,
  type RbacObject,
  ruleAllows,
} from './rbac.js';
export { compareVersions, Registry, type ServedGroup, type ServedResource, validateCrd } from './registry.js';
export { BUILTIN_RESOURCES, DEFAULT_NAMESPACES, type PrinterColumn, type ResourceInfo } from './resources.js';
export { parseRoute, type Route } from './routes.js';
export { compileSchema, pruneAndDefault, toJsonSchema } from './schema.js';
export {
  type FieldRequirement,
  type LabelRequirement,
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';
export { type ApiServer, type ApiServerOptions, startApiServer } from './server.js';
export { type EventsSince, objectKey, type Storage, type StoredEvent } from './storage.js';
export { buildTable, humanDuration, type Table } from './table.js';
export { type CertAndKey, generateSelfSigned, TlsSetupError } from './tls.js';
export type { JsonObject, JsonValue, KubeObject, ObjectMeta, WatchEventType } from './types.js';
