import { API_GROUP_VERSION, DRAINING_ANNOTATION, type EgressKind, KINDS } from './constants.js';
import { PRINTER_COLUMNS } from './crd.js';
import { PEER_CLAIM_ANNOTATION } from './peer-claim.js';
import { SCHEMAS } from './schemas/index.js';

interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  format?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  patternProperties?: Record<string, SchemaNode>;
}

function typeOf(n: SchemaNode): string {
  if (n.enum) return n.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (n.type === 'array') return `${n.items ? typeOf(n.items) : 'any'}[]`;
  if (n.patternProperties) return 'map[string]';
  return n.format ? `${n.type} (${n.format})` : (n.type ?? 'any');
}

function rows(n: SchemaNode, path: string, required: boolean, out: string[]): void {
  const notes = [
    required ? 'required' : '',
    n.default !== undefined ? `default ${JSON.stringify(n.default)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  if (path !== '') {
    out.push(`| \`${path}\` | ${typeOf(n)} | ${notes} | ${(n.description ?? '').replace(/\|/g, '\\|')} |`);
  }
  const item = n.type === 'array' ? n.items : n;
  const childPath = n.type === 'array' ? `${path}[]` : path;
  for (const [k, v] of Object.entries(item?.properties ?? {})) {
    if (path === '' && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
    rows(v, childPath === '' ? k : `${childPath}.${k}`, (item?.required ?? []).includes(k), out);
  }
}

/**
 * The API field reference as Markdown, generated from the schemas (it is `docs/api.md`; a test
 * fails when that file is stale).
 */
export function apiReferenceMarkdown(): string {
  const out: string[] = [
    '# API reference',
    '',
    `Group and version: \`${API_GROUP_VERSION}\`. Every kind has the status subresource.`,
    'Generated from the schemas in `packages/crds/src/schemas` by `npm run generate -w @egressgateway/crds`; do not edit.',
    '',
  ];
  for (const kind of Object.keys(KINDS) as EgressKind[]) {
    const info = KINDS[kind];
    const schema = JSON.parse(JSON.stringify(SCHEMAS[kind])) as SchemaNode;
    out.push(`## ${kind}`, '');
    out.push(`${schema.description ?? ''}`, '');
    out.push(
      `Scope: ${info.scope}. Plural: \`${info.plural}\`. Short name: \`${info.shortNames.join('`, `')}\`.`,
      '',
    );
    const cols = PRINTER_COLUMNS[kind];
    if (cols.length > 0) {
      out.push(
        `\`kubectl get ${info.shortNames[0]}\` columns: NAME ${cols.map((c) => c.name.toUpperCase()).join(' ')}`,
        '',
      );
    }
    out.push('| field | type | notes | description |', '|---|---|---|---|');
    rows(schema, '', false, out);
    out.push('');
  }
  out.push(
    '## Annotations (our extensions)',
    '',
    'Written by the agent on its own EgressTunnel, read by the controller; upstream has neither and ignores them. They leave the schemas and the `kubectl get` columns as upstream has them.',
    '',
    '| annotation | on | value | meaning |',
    '|---|---|---|---|',
    `| \`${DRAINING_ANNOTATION}\` | EgressTunnel | RFC 3339 time | The agent is shutting down or lost its egress link (planned handover): the controller moves the node's EIPs at once and places nothing on it. Removed by the agent when it starts or its link is back. |`,
    `| \`${PEER_CLAIM_ANNOTATION}\` | EgressTunnel | JSON list of \`{gateway, ipv4, ipv6, from, gatewayResourceVersion, epoch, at}\` | Take-overs the gateway peers made this node do (docs/peers.md): the controller records each in the gateway status at once if the status still places the EIP on \`from\`, the gateway is still at \`gatewayResourceVersion\`, and this node is a selected, healthy node of the gateway. Removed by the agent when the status names the node or it no longer answers for the EIP. |`,
    '',
  );
  return `${out.join('\n')}`;
}
