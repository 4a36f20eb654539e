import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isDeepStrictEqual } from 'node:util';
import type { RequestContext, ResponseContext } from '@kubernetes/client-node';

/** The TLS settings that decide whether two requests may share a connection. */
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

/**
 * A client-node request middleware that sends every request over one keep-alive agent. client-node
 * 1.4 builds a fresh `http(s).Agent` for every request, so each status patch opened (and, on TLS,
 * handshook) a new connection; under a mass failover that connect work sat in every write's round
 * trip. The per-request agent is still built by client-node from the kubeconfig (authentication
 * is unchanged): its TLS options are copied into the shared agent, which is replaced whenever they
 * change (e.g. rotated client certificates). Proxy agents are left alone. Under client-node 2.x,
 * whose requests go through undici (no `http.Agent`), it passes every request through unchanged.
 *
 * @example
 * const config = createConfiguration({ baseServer, authMethods: { default: kc }, promiseMiddleware: [new KeepAliveAgents()] });
 */
export class KeepAliveAgents {
  private shared: HttpAgent | HttpsAgent | undefined;
  private sharedTls: Record<string, unknown> | undefined;

  constructor(private readonly maxSockets = 32) {}

  async pre(context: RequestContext): Promise<RequestContext> {
    // client-node 2.x sends with fetch over undici dispatchers and has no agents to share.
    if (typeof (context as Partial<RequestContext>).getAgent !== 'function') return context;
    const agent = context.getAgent();
    if (!agent) return context;
    const ctor = agent.constructor;
    if (ctor !== HttpAgent && ctor !== HttpsAgent) return context;
    const options = (agent as HttpAgent & { options?: Record<string, unknown> }).options ?? {};
    const tls: Record<string, unknown> = {};
    for (const k of TLS_KEYS) if (options[k] !== undefined) tls[k] = options[k];
    if (!this.shared || this.shared.constructor !== ctor || !isDeepStrictEqual(tls, this.sharedTls)) {
      this.shared?.destroy();
      const settings = { ...tls, keepAlive: true, maxSockets: this.maxSockets };
      this.shared = ctor === HttpsAgent ? new HttpsAgent(settings) : new HttpAgent(settings);
      this.sharedTls = tls;
    }
    context.setAgent(this.shared);
    return context;
  }

  async post(context: ResponseContext): Promise<ResponseContext> {
    return context;
  }

  /** Closes the idle connections. */
  destroy(): void {
    this.shared?.destroy();
    this.shared = undefined;
  }
}
