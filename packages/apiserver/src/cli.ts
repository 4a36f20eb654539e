import { readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { type Logger, pino } from 'pino';
import { parseTokenFile } from './audit.js';
import { type ApiServer, startApiServer } from './server.js';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be an integer from 0 to 65535');
  return n;
}

/** Parsed command line of `egw-apiserver`. */
export interface CliOptions {
  port: number;
  host: string;
  dataDir?: string;
  kubeconfigOut?: string;
  token?: string;
  tokenFile?: string;
  tokenAuthFile?: string;
  auditLogPath?: string;
  authorizationMode: string;
  tls: boolean;
  logLevel: string;
  webhookServiceAddress: Record<string, string>;
}

/** `<namespace>/<name>:<port>=<host>:<port>`, collected into a map. */
function serviceAddress(v: string, acc: Record<string, string>): Record<string, string> {
  const m = /^([a-z0-9.-]+)\/([a-z0-9.-]+):(\d+)=(\[[^\]]+\]|[^:=]+):(\d+)$/.exec(v);
  if (!m)
    throw new InvalidArgumentError(
      `"${v}" is not <namespace>/<service>:<port>=<host>:<port> (e.g. egressgateway/egressgateway-controller:5822=127.0.0.1:5822)`,
    );
  return { ...acc, [`${m[1]}/${m[2]}:${m[3]}`]: `${m[4]}:${m[5]}` };
}

/** Builds the commander program (exported for tests and `--help` docs). */
export function buildProgram(): Command {
  return new Command('egw-apiserver')
    .description(
      'Embedded Kubernetes API server for local runs, demos and tests (kubectl and client-node compatible)',
    )
    .option('--port <port>', 'TCP port (0 picks a free one)', port, 6443)
    .option('--host <address>', 'listen address (loopback by default)', '127.0.0.1')
    .option('--data-dir <dir>', 'persist every write to an append-only journal in this directory')
    .option('--kubeconfig-out <file>', 'write a kubeconfig for this server to this file')
    .option('--token <token>', 'require this bearer token (user admin, group system:masters)')
    .option('--token-file <file>', 'the same token, read from a file (not visible in ps)')
    .option(
      '--token-auth-file <file>',
      'more tokens with their users, kube-apiserver\'s CSV format: token,user,uid,"group1,group2"',
    )
    .option('--audit-log-path <file>', 'append every authenticated request to this file as a JSON line')
    .option(
      '--authorization-mode <mode>',
      'AlwaysAllow, or RBAC to enforce the stored Roles and bindings',
      'AlwaysAllow',
    )
    .option('--tls', 'serve HTTPS with a self-signed certificate generated at start (needs openssl)', false)
    .option(
      '--webhook-service-address <service=address>',
      'where an admission webhook Service is reached, <namespace>/<service>:<port>=<host>:<port> (repeatable)',
      serviceAddress,
      {},
    )
    .option('--log-level <level>', 'pino log level', 'info')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

/**
 * Runs the CLI: starts the server, writes the kubeconfig if asked, and returns the server (the
 * caller decides when to close it; the bin closes it on SIGINT/SIGTERM).
 *
 * @example
 * ```ts
 * const server = await runCli(['node', 'egw-apiserver', '--port', '0', '--kubeconfig-out', '/tmp/kc']);
 * ```
 */
export async function runCli(argv: string[], logger?: Logger): Promise<ApiServer> {
  const program = buildProgram();
  program.parse(argv);
  const o = program.opts<CliOptions>();
  const log = logger ?? pino({ level: o.logLevel, base: { component: 'egw-apiserver' } });
  if (o.authorizationMode !== 'AlwaysAllow' && o.authorizationMode !== 'RBAC')
    throw new InvalidArgumentError(
      `--authorization-mode must be AlwaysAllow or RBAC, got "${o.authorizationMode}"`,
    );
  const token = o.token ?? (o.tokenFile !== undefined ? readFileSync(o.tokenFile, 'utf8').trim() : undefined);
  const tokens =
    o.tokenAuthFile !== undefined ? parseTokenFile(readFileSync(o.tokenAuthFile, 'utf8')) : undefined;
  const server = await startApiServer({
    port: o.port,
    host: o.host,
    tls: o.tls,
    logger: log,
    ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(tokens !== undefined ? { tokens } : {}),
    ...(o.auditLogPath !== undefined ? { auditLogPath: o.auditLogPath } : {}),
    authorization: o.authorizationMode,
    ...(Object.keys(o.webhookServiceAddress).length > 0
      ? { webhookServiceAddresses: o.webhookServiceAddress }
      : {}),
  });
  if (o.kubeconfigOut !== undefined) {
    writeFileSync(o.kubeconfigOut, server.kubeconfigYaml, { mode: 0o600 });
    log.info({ file: o.kubeconfigOut }, 'kubeconfig written');
  }
  return server;
}
