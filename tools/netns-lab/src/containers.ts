import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** podman's global options here: root's storage with the vfs driver (as `npm run images` builds). */
export const PODMAN_GLOBAL = ['--storage-driver', 'vfs'];

/** `podman run` options these machines need (STACK.md): runc, and rlimits podman may set. */
export const PODMAN_RUN = [
  '--runtime',
  'runc',
  '--ulimit',
  'nofile=16384:16384',
  '--ulimit',
  'nproc=4096:4096',
];

/** Label on every container the lab starts (value: the lab's namespace prefix). */
export const LAB_LABEL = 'io.egressgateway.netns-lab';

/**
 * Capabilities per app, as the Helm chart grants them: the agent programs links, addresses,
 * routes, rules and nftables (NET_ADMIN) and sends gratuitous ARP / neighbour advertisements
 * from raw sockets (NET_RAW); the controller needs none.
 */
export const APP_CAPABILITIES: Record<'controller' | 'agent', readonly string[]> = {
  controller: [],
  agent: ['NET_ADMIN', 'NET_RAW'],
};

/**
 * More than capabilities, per app, with the reason. The lab's nodes filter reverse paths strictly
 * (`net.ipv4.conf.all.rp_filter=1`, a hardened node), so the agent must set its tunnel device's
 * rp_filter to loose (2), and containers get /proc/sys read-only; podman can only make all of
 * /proc/sys writable (runc refuses a mount of /proc/sys/net alone). On nodes whose
 * `all.rp_filter` is 0 or 2 the agent writes nothing there and needs no such option (the Helm
 * chart's default; see charts/egressgateway/README.md).
 */
export const APP_EXTRA_OPTIONS: Record<'controller' | 'agent', readonly string[]> = {
  controller: [],
  agent: ['--security-opt', 'unmask=/proc/sys'],
};

/**
 * Where a pod gets its ServiceAccount (`token`, `ca.crt`, `namespace`); with
 * `KUBERNETES_SERVICE_HOST`/`_PORT` set, client-node's in-cluster configuration reads it.
 */
export const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where the chart mounts the `egressgateway` ConfigMap (upstream's path, `CONFIGMAP_PATH`). */
export const CONFIG_DIR = '/tmp/config-map';

/** The images `npm run images` built, as `tools/images/dist/images.json` lists them. */
export interface LabImages {
  controller: string;
  agent: string;
}

/** One container of the lab: everything `podman run` needs (pure data). */
export interface ContainerSpec {
  /** Unique container name (`<prefix>-<process name>`). */
  name: string;
  /** Lab prefix, for the label that lets a later run sweep what a killed run left. */
  lab: string;
  /** Network namespace (under /run/netns) the container joins. */
  netns: string;
  image: string;
  app: 'controller' | 'agent';
  /** host path -> container path, read-only. */
  mounts: Array<[string, string]>;
  env: Record<string, string>;
  args: string[];
  /**
   * podman's `--cpus` and `--memory` (the chart's `resources.limits`, converted by `podmanCpus`
   * and `podmanMemory`): the same CFS quota and memory limit the kubelet would set.
   */
  limits?: { cpus?: string; memory?: string };
}

/** `podman` arguments that run a lab container in the foreground (pure, so it is unit-tested). */
export function podmanRunArgs(c: ContainerSpec): string[] {
  const args = [...PODMAN_GLOBAL, 'run', '--rm', '--name', c.name, '--label', `${LAB_LABEL}=${c.lab}`];
  args.push(...PODMAN_RUN, '--network', `ns:/run/netns/${c.netns}`, '--read-only');
  // Signals go to the container through `podman kill`, not through the client process.
  args.push('--sig-proxy=false', '--cap-drop', 'ALL');
  for (const cap of APP_CAPABILITIES[c.app]) args.push('--cap-add', cap);
  args.push('--security-opt', 'no-new-privileges', ...APP_EXTRA_OPTIONS[c.app]);
  if (c.limits?.cpus !== undefined) args.push('--cpus', c.limits.cpus);
  if (c.limits?.memory !== undefined) args.push('--memory', c.limits.memory);
  for (const [host, inside] of c.mounts) args.push('--volume', `${host}:${inside}:ro`);
  for (const [k, v] of Object.entries(c.env).sort()) args.push('--env', `${k}=${v}`);
  args.push(c.image, ...c.args);
  return args;
}

function podman(args: string[]) {
  return spawnSync('podman', [...PODMAN_GLOBAL, ...args], { encoding: 'utf8' });
}

/**
 * The images of `npm run images` as `tools/images/dist/images.json` describes them (or the
 * `images.json` of another checkout's build named by `$EGW_LAB_IMAGES_JSON`), loaded into
 * container storage from their archives when storage does not hold exactly those images (an nx
 * cache hit restores the archives only). Throws with the fix when missing.
 */
export function labImages(
  repoRoot: string,
  file = process.env.EGW_LAB_IMAGES_JSON || join(repoRoot, 'tools', 'images', 'dist', 'images.json'),
): LabImages {
  if (spawnSync('podman', ['--version']).status !== 0)
    throw new Error(
      'images mode needs podman (apt-get install podman runc) and the images: run "npm run images"',
    );
  // Archive paths in images.json are relative to the root of the checkout that built them.
  const builtRoot = resolve(dirname(file), '..', '..', '..');
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run images" first`);
  const built = JSON.parse(readFileSync(file, 'utf8')) as {
    images: Record<string, { ref: string; archive: string; imageId?: string }>;
  };
  const refs: Partial<LabImages> = {};
  for (const app of ['controller', 'agent'] as const) {
    const img = built.images[app];
    if (!img) throw new Error(`${file} has no ${app} image: run "npm run images"`);
    // The reference in storage may point at another build than images.json describes (a later
    // build of another commit, a test's build): the archive is then loaded, which moves the tag.
    const stored = storedImageId(img.ref);
    if (stored === undefined || (img.imageId !== undefined && stored !== img.imageId)) {
      const archive = join(builtRoot, img.archive);
      if (!existsSync(archive)) throw new Error(`${archive} is missing: run "npm run images" first`);
      const r = podman(['load', '--quiet', '--input', archive]);
      if (r.status !== 0) throw new Error(`podman load ${img.archive}: ${r.stderr.trim()}`);
      const now = storedImageId(img.ref);
      if (img.imageId !== undefined && now !== img.imageId)
        throw new Error(
          `${img.ref} is ${now ?? 'missing'} after loading ${img.archive}, images.json says ${img.imageId}: run "npm run images" again`,
        );
    }
    refs[app] = img.ref;
  }
  return refs as LabImages;
}

/** The image ID a reference has in container storage (undefined when it is not there). */
export function storedImageId(ref: string): string | undefined {
  const r = podman(['image', 'inspect', '--format', '{{.Id}}', ref]);
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/** Sends a signal to a container's main process (`podman kill`); true when podman said yes. */
export function signalContainer(name: string, sig: NodeJS.Signals): boolean {
  return podman(['kill', '--signal', sig, name]).status === 0;
}

/** Removes containers at once (SIGKILL), synchronously: safe in an `exit` handler. */
export function removeContainers(names: readonly string[]): void {
  if (names.length > 0) podman(['rm', '--force', '--time', '0', ...names]);
}

/**
 * Removes containers of earlier lab runs whose namespaces are gone (a run killed with SIGKILL
 * cannot clean up); returns their names.
 */
export function sweepStaleContainers(liveNamespaces: (prefix: string) => boolean): string[] {
  const r = podman([
    'ps',
    '--all',
    '--filter',
    `label=${LAB_LABEL}`,
    '--format',
    `{{.Names}} {{index .Labels "${LAB_LABEL}"}}`,
  ]);
  if (r.status !== 0) return [];
  const stale = r.stdout
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter(([name, lab]) => name && lab && !liveNamespaces(lab))
    .map(([name]) => name as string);
  removeContainers(stale);
  return stale;
}
