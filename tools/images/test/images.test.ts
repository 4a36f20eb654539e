import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM without type declarations
import { buildImages, imageRef, PODMAN_RUN_OPTS, repoRoot, STORAGE_OPTS } from '../images.mjs';

interface ImageInfo {
  ref: string;
  digest: string;
  storageDigest: string;
  user: string;
  entrypoint: string[];
  archive: string;
  compressedBytes: number;
}
interface ImagesJson {
  node: string;
  revision: string;
  images: Record<'controller' | 'agent', ImageInfo>;
  rebuilt: string[];
}

const buildScript = join(repoRoot, 'tools', 'images', 'build.mjs');

describe('build options', () => {
  it('defaults the references to the Helm chart values (registry, repository, appVersion as tag)', () => {
    const chart = join(repoRoot, 'charts', 'egressgateway');
    const values = readFileSync(join(chart, 'values.yaml'), 'utf8');
    const appVersion = /^appVersion:\s*"?([^"\s]+)"?/m.exec(
      readFileSync(join(chart, 'Chart.yaml'), 'utf8'),
    )?.[1];
    for (const name of ['controller', 'agent']) {
      const m = new RegExp(`^${name}:\\n  image:\\n    registry: (\\S+)\\n    repository: (\\S+)`, 'm').exec(
        values,
      );
      expect(m, `charts/egressgateway/values.yaml: ${name}.image`).not.toBeNull();
      expect(imageRef(name, {})).toBe(`${m?.[1]}/${m?.[2]}:${appVersion}`);
    }
  });

  it('names the reference options in --help and refuses an unknown image with the choices', () => {
    const help = spawnSync(process.execPath, [buildScript, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    for (const opt of ['--registry', '--repository-prefix', '--tag', '--check-reproducible', '--force'])
      expect(help.stdout).toContain(opt);
    const bad = spawnSync(process.execPath, [buildScript, '--only', 'operator'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--only: unknown image "operator" (choose from controller, agent)');
  });
});

const why =
  process.getuid?.() !== 0
    ? 'not root (buildah with vfs storage and podman need root here)'
    : spawnSync('podman', ['--version']).status !== 0
      ? 'podman is not installed (apt-get install podman runc)'
      : spawnSync('buildah', ['--version']).status !== 0
        ? 'buildah is not installed (apt-get install buildah)'
        : undefined;
if (why) console.log(`images tests skipped: ${why}`);

function podman(args: string[]) {
  return spawnSync('podman', [...STORAGE_OPTS, ...args], { encoding: 'utf8' });
}

/** Runs a container of an image with the machine's podman options; returns status and output. */
function runIn(ref: string, opts: string[], args: string[] = []) {
  const r = podman(['run', '--rm', ...PODMAN_RUN_OPTS, ...opts, ref, ...args]);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(why !== undefined)('controller and agent images', () => {
  let built: ImagesJson;

  // The nx build target has built them for the current bins: reused then; built here otherwise
  // (the apps' bins must be built: the error names the command).
  beforeAll(() => {
    built = buildImages() as ImagesJson;
    console.log(`images: ${built.rebuilt.length > 0 ? `built ${built.rebuilt.join(', ')}` : 'reused'}`);
  }, 1_200_000);

  it('reuses the images when nothing they are built from has changed', () => {
    const again = buildImages() as ImagesJson;
    expect(again.rebuilt).toEqual([]);
    for (const name of ['controller', 'agent'] as const)
      expect(again.images[name].digest).toBe(built.images[name].digest);
  });

  it('labels each image with the commit it was built from and runs Node 24 as the entrypoint', () => {
    const head = spawnSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    for (const img of Object.values(built.images)) {
      const r = spawnSync('buildah', [...STORAGE_OPTS, 'inspect', '--type', 'image', img.ref], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const cfg = JSON.parse(r.stdout).OCIv1.config;
      expect(cfg.Labels['org.opencontainers.image.revision']).toMatch(new RegExp(`^${head}`));
      expect(cfg.Labels['org.opencontainers.image.licenses']).toBe('Apache-2.0');
      expect(cfg.Labels['org.opencontainers.image.version']).toMatch(/^\d+\.\d+\.\d+/);
      expect(cfg.Entrypoint).toEqual(img.entrypoint);
      expect(cfg.User).toBe(img.user);
      const v = runIn(img.ref, ['--entrypoint', '/usr/local/bin/node'], ['--version']);
      expect(v.out.trim()).toMatch(/^v24\./);
    }
  });

  it('controller: no shell, starts as a non-root user on a read-only root filesystem with no capabilities', () => {
    const ref = built.images.controller.ref;
    const sh = runIn(ref, ['--entrypoint', '/bin/sh'], ['-c', 'true']);
    expect(sh.status).not.toBe(0);
    expect(sh.out).toMatch(/no such file/);
    const uid = runIn(
      ref,
      ['--read-only', '--cap-drop', 'ALL', '--entrypoint', '/usr/local/bin/node'],
      ['-e', 'console.log(process.getuid())'],
    );
    expect(uid.out.trim()).toBe('65532');
    const help = runIn(ref, ['--read-only', '--cap-drop', 'ALL'], ['--help']);
    expect(help.status).toBe(0);
    expect(help.out).toMatch(/Usage: egw-controller/);
    // A bad setting is refused at start with the key and the fix, not a stack trace.
    const bad = runIn(ref, ['--read-only', '--cap-drop', 'ALL'], ['--eip-eviction-timeout', 'soon']);
    expect(bad.status).not.toBe(0);
    expect(bad.out).toMatch(/eipEvictionTimeout|eviction/);
    expect(bad.out).not.toMatch(/\n\s+at /);
  });

  it('agent: the datapath tools run inside (nft, arping, ndisc6, the perl neighbour-advertisement sender)', () => {
    const ref = built.images.agent.ref;
    const caps = ['--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW'];
    expect(runIn(ref, [...caps, '--entrypoint', '/usr/sbin/nft'], ['--version']).out).toMatch(/nftables v1/);
    expect(runIn(ref, [...caps, '--entrypoint', '/usr/bin/arping'], ['-V']).out).toMatch(/iputils/);
    expect(runIn(ref, [...caps, '--entrypoint', '/usr/bin/ndisc6'], ['-V']).out).toMatch(/ndisc6/);
    const perl = runIn(
      ref,
      [...caps, '--entrypoint', '/usr/bin/perl'],
      ['-e', 'use strict; use Socket qw(AF_INET6 SOCK_RAW inet_pton pack_sockaddr_in6); print "ok\\n"'],
    );
    expect(perl.out.trim()).toBe('ok');
    // nft really talks to the kernel with NET_ADMIN only, in the container's own network namespace.
    const list = runIn(ref, [...caps, '--entrypoint', '/usr/sbin/nft'], ['list', 'ruleset']);
    expect(list.status, list.out).toBe(0);
    const help = runIn(ref, caps, ['--help']);
    expect(help.out).toMatch(/Usage: egw-agent/);
  });

  it('building again from the same commit gives the same digest', () => {
    const again = buildImages({ only: ['controller'], force: true }) as ImagesJson;
    expect(again.rebuilt).toEqual(['controller']);
    expect(again.images.controller.digest).toBe(built.images.controller.digest);
    expect(again.images.controller.storageDigest).toBe(built.images.controller.storageDigest);
  });

  it('each OCI archive holds the manifest of the stored image', () => {
    for (const img of Object.values(built.images)) {
      const archive = join(repoRoot, img.archive);
      const listing = spawnSync('tar', ['-tf', archive], { encoding: 'utf8' }).stdout;
      expect(listing).toMatch(/index\.json/);
      expect(listing).toContain(`blobs/sha256/${img.digest.slice('sha256:'.length)}`);
    }
  });
});
