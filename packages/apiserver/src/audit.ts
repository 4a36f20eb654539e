import { closeSync, openSync, writeSync } from 'node:fs';

/** Who made a request, as kube-apiserver's authenticators name users. */
export interface UserInfo {
  user: string;
  uid?: string;
  groups: string[];
}

/** A static token and its user (kube-apiserver's `--token-auth-file` line). */
export interface TokenUser extends UserInfo {
  token: string;
}

/**
 * One request as RBAC sees it: the user, the RBAC verb and the resource attributes, plus the
 * answer's HTTP code. Written one JSON object a line by `auditLogPath` and passed to `onRequest`.
 * Optional fields are absent (not `null`) when they do not apply.
 *
 * @example
 * ```json
 * {"user":"system:serviceaccount:egw:agent","groups":["system:authenticated"],"verb":"patch",
 *  "apiGroup":"egressgateway.spidernet.io","apiVersion":"v1beta1","resource":"egresstunnels",
 *  "subresource":"status","name":"node1","code":200}
 * {"user":"admin","groups":["system:masters","system:authenticated"],"verb":"get","path":"/apis","code":200}
 * ```
 */
export interface RequestRecord {
  /** User name from the token (`system:anonymous` without auth, or for a refused token). */
  user: string;
  /** The user's groups; every authenticated user also has `system:authenticated`. */
  groups: string[];
  /**
   * Resource requests: get, list, watch, create, update, patch, delete, deletecollection.
   * Non-resource requests: `get` for GET/HEAD, else the lower-case HTTP method.
   */
  verb: string;
  /** API group of a resource request; `''` for the core group. */
  apiGroup?: string;
  /** API version from the path (`v1`, `v1beta1`). */
  apiVersion?: string;
  /** Resource plural (`configmaps`); absent for non-resource requests. */
  resource?: string;
  /** `status` for `/status`. */
  subresource?: string;
  /** Namespace of a namespaced request; absent for cluster-scoped ones. */
  namespace?: string;
  /** Object name for item requests; absent for collections (list, watch, create, deletecollection). */
  name?: string;
  /** URL path of a non-resource request (`/apis`, `/openapi/v3/api/v1`, `/healthz`). */
  path?: string;
  /** HTTP status code of the answer (a watch: 200 at its start). */
  code: number;
}

/** The anonymous user of a server without authentication. */
export const ANONYMOUS: UserInfo = { user: 'system:anonymous', groups: ['system:unauthenticated'] };

/**
 * Parses kube-apiserver's static token file: `token,user,uid,"group1,group2"` per line (the
 * groups column optional and quoted when it has commas); blank lines and `#` comments skipped.
 * Throws with the line number for a malformed line.
 */
export function parseTokenFile(text: string): TokenUser[] {
  const out: TokenUser[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const cols: string[] = [];
    const re = /\s*("([^"]*)"|[^,]*)\s*(,|$)/g;
    let m: RegExpExecArray | null = re.exec(line);
    while (m !== null && m[0] !== '') {
      cols.push(m[2] ?? m[1] ?? '');
      if (m[3] === '') break;
      m = re.exec(line);
    }
    const [token = '', user = '', uid = '', groups = ''] = cols;
    if (token === '' || user === '')
      throw new Error(`token file line ${i + 1}: expected token,user,uid[,"group1,group2"]`);
    out.push({
      token,
      user,
      ...(uid !== '' ? { uid } : {}),
      groups: groups === '' ? [] : groups.split(',').map((g) => g.trim()),
    });
  });
  return out;
}

/** The RBAC verb of a resource request. */
export function rbacVerb(method: string, collection: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : collection ? 'list' : 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return collection ? 'deletecollection' : 'delete';
    default:
      return method.toLowerCase();
  }
}

/**
 * Appends records to a file, one JSON line each, with a write per record: a reader sees every
 * line even after the server was killed. Returns the record sink and a close function.
 */
export function auditLogWriter(path: string): { write: (r: RequestRecord) => void; close: () => void } {
  const fd = openSync(path, 'a');
  let open = true;
  return {
    write: (r) => {
      if (open) writeSync(fd, `${JSON.stringify(r)}\n`);
    },
    close: () => {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}
