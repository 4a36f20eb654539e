import { tryRun } from './exec.js';

/** Why the lab cannot run here, with what to do about it. */
export class PreflightError extends Error {
  readonly code = 'EGW_LAB_PREFLIGHT';
  constructor(readonly problems: readonly string[]) {
    super(`the netns lab cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** A tool the lab needs, and the Debian package that provides it. */
export interface ToolRequirement {
  command: string;
  args: string[];
  debianPackage: string;
  why: string;
}

/** Every external tool the lab and the agent use. */
export const REQUIRED_TOOLS: readonly ToolRequirement[] = [
  { command: 'ip', args: ['-V'], debianPackage: 'iproute2', why: 'network namespaces, links, addresses' },
  { command: 'nft', args: ['--version'], debianPackage: 'nftables', why: "the agent's steering and SNAT" },
  {
    command: 'arping',
    args: ['-V'],
    debianPackage: 'iputils-arping',
    why: 'gratuitous ARP when an EIP is bound',
  },
  {
    command: 'perl',
    args: ['-MSocket', '-MTime::HiRes', '-e', '1'],
    debianPackage: 'perl',
    why: 'the IPv6 neighbour advertisement and the ARP watcher',
  },
];

/** True when this process runs as root. */
export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Problems with the tools (pure over the probe function, for tests). */
export function missingTools(
  probe: (cmd: string, args: string[]) => boolean,
  tools: readonly ToolRequirement[] = REQUIRED_TOOLS,
): string[] {
  return tools
    .filter((t) => !probe(t.command, t.args))
    .map((t) => `\`${t.command}\` is missing (${t.why}): install the Debian package ${t.debianPackage}`);
}

const toolWorks = (cmd: string, args: string[]): boolean => {
  const r = tryRun(cmd, args, undefined, 5000);
  return r.status === 0 || (cmd === 'arping' && r.status !== null && !/ENOENT/.test(r.stderr));
};

/**
 * Checks that the lab can run: root, the tools, and the kernel features (veth, bridge, vxlan,
 * nftables), the last ones by trying them in a scratch namespace that is always deleted.
 */
export function preflight(scratchPrefix: string): void {
  if (!isRoot())
    throw new PreflightError([
      'it must run as root (it creates network namespaces; the host namespace is never changed)',
    ]);
  const problems = missingTools(toolWorks);
  if (problems.length > 0) throw new PreflightError(problems);
  const ns = `${scratchPrefix}-preflight`;
  const add = tryRun('ip', ['netns', 'add', ns]);
  if (add.status !== 0) throw new PreflightError([`cannot create a network namespace: ${add.stderr.trim()}`]);
  try {
    const checks: Array<[string, string, string[]]> = [
      ['veth', 'ip', ['-n', ns, 'link', 'add', 'pf0', 'type', 'veth', 'peer', 'name', 'pf1']],
      ['bridge', 'ip', ['-n', ns, 'link', 'add', 'pfbr', 'type', 'bridge']],
      ['vxlan', 'ip', ['-n', ns, 'link', 'add', 'pfvx', 'type', 'vxlan', 'id', '100', 'dstport', '7789']],
      ['nftables', 'ip', ['netns', 'exec', ns, 'nft', 'add', 'table', 'inet', 'egwpreflight']],
    ];
    const failed: string[] = [];
    for (const [feature, cmd, args] of checks) {
      const r = tryRun(cmd, args);
      if (r.status !== 0)
        failed.push(
          `the kernel lacks ${feature} support (CONFIG_${feature.toUpperCase()}): ${r.stderr.trim()}`,
        );
    }
    if (failed.length > 0) throw new PreflightError(failed);
  } finally {
    tryRun('ip', ['netns', 'del', ns]);
  }
}
