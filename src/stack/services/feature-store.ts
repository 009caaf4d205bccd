/**
 * The online feature store of the local stack: a Redis 7 `redis-server` run as a plain process, with an append-only
 * file so card history survives restarts. The binary is Debian 12's package, fetched with `apt-get download` and
 * unpacked with `dpkg-deb -x` into the cache (nothing is installed system-wide, and no init script starts a second
 * server), or any Redis 7 that REDIS_SERVER_BIN names.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../../config';
import type { StackLayout } from '../layout';
import { versions } from '../layout';
import { spawnDetached, waitFor } from '../processes';
import { StackError } from '../../errors';
import {
  aptUpdate,
  downloadPackages,
  haveDebianTools,
  installed,
  isRoot,
  libraryDirs,
  libraryEnv as libraryEnvOf,
  listedVersions,
  unpackPackages,
  unresolvedLibraries,
  upstreamOf,
} from '../debian-packages';
import type { StackService } from './shared';
import { processFiles, waitForProcess } from './shared';

/**
 * Resolves when the Redis server at `url` answers PING with PONG; rejects with the client's error otherwise.
 * One connection, no retries and no offline queue, so a dead server fails within `timeoutMs`.
 */
export async function pingFeatureStore(url: string, timeoutMs = 2000): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // Connection errors reach the caller through connect()/ping(); without a listener ioredis prints them too.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const reply: string = await client.ping();
    if (reply !== 'PONG') throw new Error(`PING answered ${reply}`);
  } finally {
    client.disconnect();
  }
}

/** One quick PING for `stack status`: true on PONG. */
export async function featureStoreHealthy(url: string): Promise<boolean> {
  try {
    await pingFeatureStore(url);
    return true;
  } catch {
    return false;
  }
}

/** The URL with its password masked, for logs and messages. */
export function displayUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

export function featureStoreService(config: Config, layout: StackLayout): StackService {
  const { url, managed } = config.featureStore;
  const parsed = new URL(url);
  const port = Number(parsed.port || 6379);
  // redis-server binds addresses, not names; URL hostnames keep IPv6 brackets.
  const host = parsed.hostname === 'localhost' ? '127.0.0.1' : parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const files = processFiles(layout, 'redis');
  const shown = displayUrl(url);

  return {
    name: 'redis',
    managed,
    ports: managed
      ? [
          {
            host,
            port,
            env: 'FEATURE_STORE_URL',
            alternative: 'or set FEATURE_STORE_MANAGED=false to use the server that listens there',
          },
        ]
      : [],
    ...files,
    async provision() {
      if (!managed) return;
      if (config.env.REDIS_SERVER_BIN) checkRedisBinary(config.env.REDIS_SERVER_BIN);
      else if (!readRedisBuild(layout)) await provisionDebianRedis(layout);
    },
    start() {
      if (!managed) return;
      const server = redisServer(config, layout);
      fs.mkdirSync(layout.redisData, { recursive: true });
      spawnDetached({
        command: server.command,
        // Every write goes to the append-only file (fsync each second); no RDB snapshots on top of it.
        args: [
          '--port',
          String(port),
          '--bind',
          host,
          '--dir',
          layout.redisData,
          '--appendonly',
          'yes',
          '--save',
          '',
          '--daemonize',
          'no',
        ],
        env: server.env,
        ...files,
      });
    },
    async ready(timeoutMs) {
      const what = managed
        ? `Redis feature store at ${shown} (PING)`
        : `the feature store at ${shown} (FEATURE_STORE_URL; FEATURE_STORE_MANAGED=false, so stack up does not start it)`;
      const pongs = async () => (await pingFeatureStore(url), true);
      await (managed ? waitForProcess(what, pongs, files, timeoutMs) : waitFor(what, pongs, { timeoutMs }));
    },
    healthy: () => featureStoreHealthy(url),
    endpoints() {
      return [{ name: 'Feature store (Redis)', value: managed ? shown : `${shown} (not started by fraudflow)` }];
    },
  };
}

/** What `stack up` wrote next to the unpacked packages once they were complete and the server ran. */
const RedisBuild = z.object({
  /** Upstream version the server reports. */
  version: z.string(),
  /** The Debian package version unpacked, e.g. `5:7.0.15-1~deb12u10`. */
  debianVersion: z.string(),
  packages: z.array(z.string()),
  /** Folders of the unpacked shared libraries, relative to the build folder; LD_LIBRARY_PATH of the server. */
  libraryPath: z.array(z.string()),
});
type RedisBuild = z.infer<typeof RedisBuild>;

const manifestName = 'fraudflow-redis.json';

function readRedisBuild(layout: StackLayout): RedisBuild | undefined {
  const file = path.join(layout.redisHome, manifestName);
  if (!fs.existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    raw = undefined;
  }
  const parsed = RedisBuild.safeParse(raw);
  if (!parsed.success) {
    throw new StackError(
      `${file} is not a fraudflow Redis build manifest; delete ${layout.redisHome} to fetch it again.\n` +
        z.prettifyError(parsed.error),
    );
  }
  return parsed.data;
}

function redisServer(config: Config, layout: StackLayout): { command: string; env: NodeJS.ProcessEnv } {
  if (config.env.REDIS_SERVER_BIN) return { command: config.env.REDIS_SERVER_BIN, env: {} };
  const build = readRedisBuild(layout);
  if (!build) throw new StackError(`no Redis build in ${layout.redisHome}: run \`fraudflow stack up\``);
  return {
    command: path.join(layout.redisHome, 'usr', 'bin', 'redis-server'),
    env: libraryEnv(layout.redisHome, build),
  };
}

function libraryEnv(home: string, build: Pick<RedisBuild, 'libraryPath'>): NodeJS.ProcessEnv {
  return libraryEnvOf(home, build.libraryPath);
}

/** `Redis server v=7.0.15 sha=...` (Valkey prints `Valkey server v=...`) → `7.0.15`. */
function serverVersion(command: string, env: NodeJS.ProcessEnv = {}): { version?: string; output: string } {
  const res = spawnSync(command, ['--version'], { encoding: 'utf8', env: { ...process.env, ...env } });
  const output = `${res.error?.message ?? ''}${res.stdout ?? ''}${res.stderr ?? ''}`.trim();
  return { version: /\bv=(\d+\.\d+\.\d+)/.exec(output)?.[1], output };
}

function checkRedisBinary(command: string): void {
  const { version, output } = serverVersion(command);
  if (!version) {
    throw new StackError(`REDIS_SERVER_BIN=${command} does not run as redis-server --version: ${output}`);
  }
  if (Number(version.split('.')[0]) < 7) {
    throw new StackError(`REDIS_SERVER_BIN=${command} is Redis ${version}; the feature store needs Redis 7 or newer.`);
  }
}

const pinned = versions.redis;

/** Why there is no cached Redis and how to get one, for machines without Debian's package tools. */
function noDebianToolsMessage(): string {
  const onPath = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout?.trim();
  const found = onPath ? ` A redis-server is on PATH: set REDIS_SERVER_BIN=${onPath}.` : '';
  const install =
    process.platform === 'darwin'
      ? 'On macOS: `brew install redis`, then set REDIS_SERVER_BIN=$(brew --prefix)/bin/redis-server.'
      : 'Install Redis 7 (or Valkey) with your package manager and set REDIS_SERVER_BIN to its redis-server.';
  return (
    `the feature store needs Redis 7: fraudflow fetches Debian's redis-server ${pinned} with apt-get download and ` +
    `dpkg-deb, which this machine lacks. ${install}${found} To use a server that already runs, set ` +
    'FEATURE_STORE_URL to it and FEATURE_STORE_MANAGED=false.'
  );
}

/**
 * Shared-library packages to unpack beside the server: liblzf1 and libjemalloc2 always (a stock Debian 12 lacks
 * them, and the cache must not depend on what happens to be installed), every other library dependency of
 * redis-tools only when missing. libc6 is never unpacked: the system's loader must match it.
 */
function libraryPackages(debianVersion: string): string[] {
  const res = spawnSync('apt-cache', ['depends', '--important', `redis-tools=${debianVersion}`], { encoding: 'utf8' });
  const depends = [...(res.stdout ?? '').matchAll(/^\s*\|?Depends:\s*(\S+)/gm)].map((m) => m[1] ?? '');
  const always = ['liblzf1', 'libjemalloc2'];
  const missing = depends.filter((p) => p.startsWith('lib') && p !== 'libc6' && !always.includes(p) && !installed(p));
  return [...always, ...missing];
}

/**
 * Fetches Debian's redis-server at the pinned version with its libraries, unpacks them in a scratch folder, checks
 * that the server runs there, and moves the folder into the cache.
 */
async function provisionDebianRedis(layout: StackLayout): Promise<void> {
  requireDebianTools();
  const logFile = path.join(layout.buildLogs, `fetch-redis-${pinned}.log`);
  const debianVersion = await pinnedDebianVersion(logFile);

  const work = `${layout.redisHome}.tmp-${process.pid}`;
  const debs = path.join(work, 'debs');
  const root = path.join(work, 'root');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(debs, { recursive: true });
  try {
    const packages = [
      `redis-server=${debianVersion}`,
      `redis-tools=${debianVersion}`,
      ...libraryPackages(debianVersion),
    ];
    await downloadPackages(packages, debs, logFile);
    await unpackPackages(debs, root, logFile);
    const build: RedisBuild = { version: pinned, debianVersion, packages, libraryPath: libraryDirs(root) };
    checkUnpackedServer(root, build);
    fs.writeFileSync(path.join(root, manifestName), JSON.stringify(build, null, 2) + '\n');
    // A rename, so a concurrent `stack up` never sees half a build; if one finished first, keep it.
    if (!fs.existsSync(layout.redisHome)) fs.renameSync(root, layout.redisHome);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function requireDebianTools(): void {
  if (!haveDebianTools()) throw new StackError(noDebianToolsMessage());
}

/** The apt lists' Debian version of the pinned redis-server; as root the lists are refreshed once if they lack it. */
async function pinnedDebianVersion(logFile: string): Promise<string> {
  const findPinned = () => listedVersions('redis-server').find((v) => upstreamOf(v) === pinned);
  let debianVersion = findPinned();
  if (!debianVersion && isRoot()) {
    await aptUpdate(logFile);
    debianVersion = findPinned();
  }
  if (debianVersion) return debianVersion;
  const listed = listedVersions('redis-server');
  throw new StackError(
    listed.length === 0
      ? `the apt package lists have no redis-server (they are empty or stale). Run \`sudo apt-get update\` and ` +
          `\`fraudflow stack up\` again, or \`sudo apt-get install redis-server\` and set ` +
          'REDIS_SERVER_BIN=/usr/bin/redis-server.'
      : `the apt package lists offer redis-server ${listed.join(', ')}, not ${pinned} (versions.redis in ` +
          'src/stack/layout.ts). Install a Redis 7 and set REDIS_SERVER_BIN to its redis-server.',
  );
}

/** The unpacked server must find every library it links and report the pinned version before it is cached. */
function checkUnpackedServer(root: string, build: RedisBuild): void {
  const server = path.join(root, 'usr', 'bin', 'redis-server');
  const env = libraryEnv(root, build);
  const unresolved = unresolvedLibraries(server, env);
  if (unresolved.length > 0) {
    throw new StackError(
      `the unpacked redis-server needs libraries this machine lacks: ${unresolved.join(', ')}. Install them, or ` +
        '`sudo apt-get install redis-server` and set REDIS_SERVER_BIN=/usr/bin/redis-server.',
    );
  }
  const { version, output } = serverVersion(server, env);
  if (version !== pinned) {
    throw new StackError(`the unpacked redis-server reports ${output || 'nothing'}, expected v=${pinned}.`);
  }
}
