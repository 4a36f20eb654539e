import { spawn } from 'node:child_process';
import { NftError } from './errors.js';

/** Result of one `nft` run. */
export interface NftResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `nft` with an argument array (never a shell) and optional stdin. The ruleset goes in on
 * stdin (`nft -f -`), so one process applies one atomic transaction.
 */
export function runNft(args: readonly string[], stdin?: string, nftPath = 'nft'): Promise<NftResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(nftPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new NftError(`cannot run ${nftPath}`, e.message)));
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
    child.stdin.on('error', () => {
      // nft may exit before reading all input; the exit code reports the failure.
    });
    child.stdin.end(stdin ?? '');
  });
}

/** Applies a script in one transaction; throws {@link NftError} when nft rejects it. */
export async function applyNftScript(script: string, nftPath = 'nft'): Promise<void> {
  const r = await runNft(['-f', '-'], script, nftPath);
  if (r.code !== 0) throw new NftError('nft -f - failed', r.stderr);
}

/** `nft -j list table inet <name>` output, or null when the table does not exist. */
export async function listNftTable(table: string, nftPath = 'nft'): Promise<string | null> {
  const r = await runNft(['-j', 'list', 'table', 'inet', table], undefined, nftPath);
  if (r.code === 0) return r.stdout;
  if (/No such file or directory/.test(r.stderr)) return null;
  throw new NftError(`nft list table inet ${table} failed`, r.stderr);
}
