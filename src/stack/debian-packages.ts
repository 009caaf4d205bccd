/**
 * Debian packages fetched with `apt-get download` and unpacked with `dpkg-deb -x` into the cache: how the stack gets
 * a server (Redis, PostgreSQL) without installing anything system-wide or letting an init script start a second one.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runToLog } from '../tools';

/** True on Linux with apt-get, apt-cache, dpkg-deb and dpkg-query on PATH. */
export function haveDebianTools(): boolean {
  const tools = ['apt-get', 'apt-cache', 'dpkg-deb', 'dpkg-query'];
  return process.platform === 'linux' && tools.every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
}

export const isRoot = () => process.getuid?.() === 0;

/** Upstream part of a Debian version: `5:7.0.15-1~deb12u10` → `7.0.15`. */
export function upstreamOf(debianVersion: string): string {
  return debianVersion.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}

/** Versions of `pkg` in the apt package lists, preferred first. */
export function listedVersions(pkg: string): string[] {
  const res = spawnSync('apt-cache', ['madison', pkg], { encoding: 'utf8' });
  return (res.stdout ?? '')
    .split('\n')
    .map((line) => line.split('|').map((f) => f.trim()))
    .filter((f) => f[0] === pkg && f[1])
    .map((f) => f[1] ?? '');
}

export /** True when dpkg has `pkg` installed on this machine. */
function installed(pkg: string): boolean {
  const res = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return res.status === 0 && res.stdout.includes('install ok installed');
}

/** Folders under `root` that hold shared libraries (`usr/lib/<triplet>`, `lib/<triplet>`, ...). */
export function libraryDirs(root: string): string[] {
  const dirs = new Set<string>();
  const walk = (dir: string, depth: number) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && depth < 3) walk(full, depth + 1);
      else if (/\.so(\.\d+)*$/.test(entry.name)) dirs.add(path.relative(root, dir));
    }
  };
  for (const top of ['lib', 'usr/lib']) if (fs.existsSync(path.join(root, top))) walk(path.join(root, top), 0);
  return [...dirs].sort();
}

export function aptUpdate(logFile: string): Promise<void> {
  return runToLog('apt-get', ['update', '-q'], { logFile, what: 'refreshing the apt package lists (apt-get update)' });
}

export async function downloadPackages(packages: string[], debs: string, logFile: string): Promise<void> {
  // As root apt drops to the _apt user to download, which cannot write into the cache folder.
  const download = () =>
    runToLog('apt-get', [...(isRoot() ? ['-o', 'APT::Sandbox::User=root'] : []), 'download', ...packages], {
      cwd: debs,
      logFile,
      what: `downloading ${packages.join(' ')} (apt-get download)`,
    });
  try {
    await download();
  } catch (err) {
    // Lists older than the archive name files that are gone; refresh once and retry.
    if (!isRoot()) throw err;
    await aptUpdate(logFile);
    await download();
  }
}

export async function unpackPackages(debs: string, root: string, logFile: string): Promise<void> {
  for (const deb of fs.readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
    await runToLog('dpkg-deb', ['-x', path.join(debs, deb), root], { logFile, what: `unpacking ${deb}` });
  }
}

/** LD_LIBRARY_PATH for a binary unpacked under `home`, its library folders first. */
export function libraryEnv(home: string, libraryPath: string[]): NodeJS.ProcessEnv {
  const dirs = libraryPath.map((d) => path.join(home, d));
  if (process.env.LD_LIBRARY_PATH) dirs.push(process.env.LD_LIBRARY_PATH);
  return { LD_LIBRARY_PATH: dirs.join(':') };
}

/** The shared libraries `binary` links that the loader cannot find with `env`. */
export function unresolvedLibraries(binary: string, env: NodeJS.ProcessEnv): string[] {
  const ldd = spawnSync('ldd', [binary], { encoding: 'utf8', env: { ...process.env, ...env } });
  return [...(ldd.stdout ?? '').matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1] ?? '');
}
