/**
 * The PostgreSQL that the Temporal server keeps its history and visibility in (TEMPORAL_BACKEND=postgres): Debian
 * 12's postgresql-15, fetched with `apt-get download` and unpacked into the cache like Redis, its cluster initialised
 * with `initdb` under the data dir and run as a plain process on loopback.
 *
 * PostgreSQL refuses to run as root. When the stack manager runs as root it starts initdb and postgres in a user
 * namespace (`unshare --user`) where they are an ordinary user: the files they create stay root's, under a cache that
 * only root can reach, and nothing is added to /etc/passwd.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../../config';
import type { StackLayout } from '../layout';
import { versions } from '../layout';
import { spawnDetached } from '../processes';
import { StackError } from '../../errors';
import { runToLog } from '../../tools';
import {
  haveDebianTools,
  installed,
  isRoot,
  libraryDirs,
  libraryEnv,
  listedVersions,
  unpackPackages,
  unresolvedLibraries,
  downloadPackages,
  upstreamOf,
} from '../debian-packages';
import type { StackService } from './shared';
import { processFiles, waitForProcess } from './shared';

/** The role and databases the Temporal server uses; loopback-only with trust authentication. */
export const temporalDatabase = { user: 'temporal', databases: ['temporal', 'temporal_visibility'] } as const;

const PostgresBuild = z.object({
  /** Upstream version the server reports, e.g. `15.20`. */
  version: z.string(),
  debianVersion: z.string(),
  packages: z.array(z.string()),
  libraryPath: z.array(z.string()),
});
type PostgresBuild = z.infer<typeof PostgresBuild>;

const manifestName = 'fraudflow-postgres.json';

/** The unpacked build, or undefined when `stack up` has not fetched it yet. */
export function readPostgresBuild(layout: StackLayout): PostgresBuild | undefined {
  const file = path.join(layout.postgresHome, manifestName);
  if (!fs.existsSync(file)) return undefined;
  const parsed = PostgresBuild.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new StackError(
      `${file} is not a fraudflow PostgreSQL manifest; delete ${layout.postgresHome} to fetch again.`,
    );
  }
  return parsed.data;
}

/** A program of the unpacked PostgreSQL (`initdb`, `postgres`, `pg_isready`, `psql`) with its library path. */
export function postgresProgram(layout: StackLayout, name: string): { command: string; env: NodeJS.ProcessEnv } {
  const build = readPostgresBuild(layout);
  if (!build) throw new StackError(`no PostgreSQL in ${layout.postgresHome}: run \`fraudflow stack up\``);
  return {
    command: path.join(layout.postgresHome, 'usr', 'lib', 'postgresql', versions.postgres, 'bin', name),
    env: libraryEnv(layout.postgresHome, build.libraryPath),
  };
}

/** `unshare` arguments that make root an ordinary user for PostgreSQL; nothing when not root. */
function asOrdinaryUser(): string[] {
  return isRoot() ? ['unshare', '--user', '--map-user=65534', '--map-group=65534'] : [];
}

export function postgresService(config: Config, layout: StackLayout): StackService {
  const port = config.env.TEMPORAL_POSTGRES_PORT;
  const host = '127.0.0.1';
  const files = processFiles(layout, 'postgres');

  return {
    name: 'postgres',
    managed: true,
    ports: [{ host, port, env: 'TEMPORAL_POSTGRES_PORT' }],
    ...files,
    async provision() {
      if (!readPostgresBuild(layout)) await provisionDebianPostgres(layout);
    },
    start() {
      initCluster(layout, files.logFile);
      const postgres = postgresProgram(layout, 'postgres');
      const wrapper = asOrdinaryUser();
      const [command, ...prefix] = [...wrapper, postgres.command];
      const rec = spawnDetached({
        command: command ?? postgres.command,
        args: [...prefix, ...serverArgs(layout, port)],
        env: postgres.env,
        ...files,
      });
      // unshare execs postgres in place: the pid file names postgres, so `down` recognises the process.
      fs.writeFileSync(files.pidFile, JSON.stringify({ ...rec, command: postgres.command }));
    },
    async ready(timeoutMs) {
      await waitForProcess(`PostgreSQL on ${host}:${port} (pg_isready)`, async () => this.healthy(), files, timeoutMs);
    },
    healthy() {
      if (!readPostgresBuild(layout)) return Promise.resolve(false);
      const isReady = postgresProgram(layout, 'pg_isready');
      const res = spawnSync(isReady.command, ['-q', '-h', host, '-p', String(port), '-U', temporalDatabase.user], {
        env: { ...process.env, ...isReady.env },
      });
      return Promise.resolve(res.status === 0);
    },
    endpoints() {
      return [{ name: 'PostgreSQL (Temporal store)', value: `postgresql://${temporalDatabase.user}@${host}:${port}` }];
    },
  };
}

function serverArgs(layout: StackLayout, port: number): string[] {
  return [
    '-D',
    layout.postgresData,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    // The socket goes in the data dir: /var/run/postgresql belongs to a system install, if any.
    '-c',
    `unix_socket_directories=${layout.postgresData}`,
    // The JIT needs LLVM, which is not unpacked; Temporal's short queries gain nothing from it.
    '-c',
    'jit=off',
    // Four history shards' task processors, matching's task queues and visibility each hold a pool of connections.
    '-c',
    'max_connections=200',
  ];
}

/** `initdb` once: a cluster owned by the `temporal` role, trust on loopback (the port is bound to 127.0.0.1 only). */
function initCluster(layout: StackLayout, logFile: string): void {
  if (fs.existsSync(path.join(layout.postgresData, 'PG_VERSION'))) return;
  fs.mkdirSync(layout.postgresData, { recursive: true, mode: 0o700 });
  const initdb = postgresProgram(layout, 'initdb');
  const [command, ...prefix] = [...asOrdinaryUser(), initdb.command];
  const args = [...prefix, '-D', layout.postgresData, '-U', temporalDatabase.user, '--auth=trust'];
  const res = spawnSync(command ?? initdb.command, [...args, '--encoding=UTF8', '--locale=C'], {
    env: { ...process.env, ...initdb.env },
    encoding: 'utf8',
  });
  fs.appendFileSync(logFile, `${res.stdout ?? ''}${res.stderr ?? ''}`);
  if (res.status !== 0) {
    fs.rmSync(layout.postgresData, { recursive: true, force: true });
    throw new StackError(`initdb of ${layout.postgresData} failed: ${res.stderr || res.error?.message}`);
  }
}

/** The newest Debian postgresql-15 in the apt lists. */
function listedDebianVersion(): string {
  const listed = listedVersions(`postgresql-${versions.postgres}`);
  const debianVersion = listed.find((v) => upstreamOf(v).startsWith(`${versions.postgres}.`));
  if (!debianVersion) {
    throw new StackError(
      `the apt package lists have no postgresql-${versions.postgres}: run \`sudo apt-get update\` and ` +
        '`fraudflow stack up` again.',
    );
  }
  return debianVersion;
}

/**
 * The server and client packages, and every library they depend on that this machine lacks (never libc6, whose
 * loader must be the system's, nor LLVM, used only by the JIT that is switched off).
 */
function packagesFor(debianVersion: string): string[] {
  const server = `postgresql-${versions.postgres}=${debianVersion}`;
  const client = `postgresql-client-${versions.postgres}=${debianVersion}`;
  const res = spawnSync('apt-cache', ['depends', '--important', server, client], { encoding: 'utf8' });
  const depends = [...(res.stdout ?? '').matchAll(/^\s*\|?Depends:\s*(lib\S+)/gm)].map((m) => m[1] ?? '');
  const skip = (p: string) => p === 'libc6' || p.startsWith('libllvm') || installed(p);
  return [server, client, ...new Set(depends.filter((p) => !skip(p)))];
}

/** Fetches and unpacks PostgreSQL in a scratch folder, checks that it runs, then moves it into the cache. */
async function provisionDebianPostgres(layout: StackLayout): Promise<void> {
  if (!haveDebianTools()) {
    throw new StackError(
      `TEMPORAL_BACKEND=postgres needs PostgreSQL ${versions.postgres}: fraudflow fetches Debian's with apt-get ` +
        'download and dpkg-deb, which this machine lacks. Use the production compose file ' +
        '(docker-compose.production.yml) or TEMPORAL_BACKEND=dev.',
    );
  }
  const logFile = path.join(layout.buildLogs, `fetch-postgres-${versions.postgres}.log`);
  const debianVersion = listedDebianVersion();
  const work = `${layout.postgresHome}.tmp-${process.pid}`;
  const debs = path.join(work, 'debs');
  const root = path.join(work, 'root');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(debs, { recursive: true });
  try {
    const packages = packagesFor(debianVersion);
    await downloadPackages(packages, debs, logFile);
    await unpackPackages(debs, root, logFile);
    const build: PostgresBuild = {
      version: upstreamOf(debianVersion),
      debianVersion,
      packages,
      libraryPath: libraryDirs(root),
    };
    await checkUnpackedServer(root, build, logFile);
    fs.writeFileSync(path.join(root, manifestName), JSON.stringify(build, null, 2) + '\n');
    // A rename, so a concurrent `stack up` never sees half a build; if one finished first, keep it.
    if (!fs.existsSync(layout.postgresHome)) {
      fs.mkdirSync(path.dirname(layout.postgresHome), { recursive: true });
      fs.renameSync(root, layout.postgresHome);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function checkUnpackedServer(root: string, build: PostgresBuild, logFile: string): Promise<void> {
  const server = path.join(root, 'usr', 'lib', 'postgresql', versions.postgres, 'bin', 'postgres');
  const env = libraryEnv(root, build.libraryPath);
  const unresolved = unresolvedLibraries(server, env);
  if (unresolved.length > 0) {
    throw new StackError(`the unpacked postgres needs libraries this machine lacks: ${unresolved.join(', ')}.`);
  }
  await runToLog(server, ['--version'], { env, logFile, what: 'running the unpacked postgres --version' });
}
