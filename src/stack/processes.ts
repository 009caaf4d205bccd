/**
 * Process bookkeeping for the stack manager: detached services with pid files, so `down` stops only what `up`
 * started, and port probes that tell "ours and healthy" from "taken by something else".
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { StackError } from '../errors';
import { jsonOrUndefined } from '../schemas/json';
import { logHint } from '../tools';

/** A pid file: what `stack up` started, so `stack down` stops exactly that. */
export const PidRecord = z.object({
  pid: z.number().int().positive(),
  /** The executable path, checked against the process's command line before signalling: a reused pid is never killed. */
  command: z.string(),
  startedAt: z.string(),
});
export type PidRecord = z.infer<typeof PidRecord>;

export function readPid(file: string): PidRecord | undefined {
  if (!fs.existsSync(file)) return undefined;
  // A pid file that is not ours (or is cut short) names no process fraudflow may stop.
  const parsed = PidRecord.safeParse(jsonOrUndefined(fs.readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

/** Reads a running process's command line; `undefined` when it cannot be read. */
export type CommandLineReader = (pid: number) => string | undefined;

/** `ps -o command= -p <pid>`: POSIX, so it works on macOS, where there is no /proc. */
export const psCommandLine: CommandLineReader = (pid) => {
  const res = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  if (res.error || res.status !== 0) return undefined;
  const line = res.stdout.trim();
  return line === '' ? undefined : line;
};

/**
 * A reader that tries `<procDir>/<pid>/cmdline` (Linux) and falls back to `ps` where /proc is absent (macOS) or
 * unreadable.
 * @param procDir @default '/proc'
 * @param fallback @default psCommandLine
 */
export function commandLineReader(procDir = '/proc', fallback: CommandLineReader = psCommandLine): CommandLineReader {
  return (pid) => {
    try {
      return fs.readFileSync(path.join(procDir, String(pid), 'cmdline'), 'utf8').replaceAll('\0', ' ');
    } catch {
      return fallback(pid);
    }
  };
}

const readCommandLine = commandLineReader();

/**
 * True when `pid` is alive and still runs `command` (not a recycled pid). A live process whose command line
 * cannot be read at all is taken as ours, as before: `down` must still be able to stop it.
 */
export function isOurProcess(rec: PidRecord, read: CommandLineReader = readCommandLine): boolean {
  try {
    process.kill(rec.pid, 0);
  } catch {
    return false;
  }
  const cmdline = read(rec.pid);
  return cmdline === undefined || cmdline.includes(rec.command);
}

/** A liveness probe for `waitFor`: the process recorded in `pidFile` still runs. */
export function alive(pidFile: string): () => boolean {
  return () => {
    const rec = readPid(pidFile);
    return rec !== undefined && isOurProcess(rec);
  };
}

export interface DetachedSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  pidFile: string;
}

/** Starts a service detached from this process, appending its output to a log file and recording its pid. */
export function spawnDetached(spec: DetachedSpec): PidRecord {
  fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
  fs.mkdirSync(path.dirname(spec.pidFile), { recursive: true });
  const out = fs.openSync(spec.logFile, 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  if (child.pid === undefined) throw new StackError(`could not start ${spec.command}`);
  child.unref();
  const rec: PidRecord = { pid: child.pid, command: spec.command, startedAt: new Date().toISOString() };
  fs.writeFileSync(spec.pidFile, JSON.stringify(rec));
  return rec;
}

/** Sends SIGTERM to the process group, waits up to `graceMs`, then SIGKILL. Returns whether something was stopped. */
export async function stopProcess(pidFile: string, graceMs = 15_000): Promise<boolean> {
  const rec = readPid(pidFile);
  if (!rec) return false;
  if (!isOurProcess(rec)) {
    fs.rmSync(pidFile, { force: true });
    return false;
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-rec.pid, sig);
    } catch {
      try {
        process.kill(rec.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isOurProcess(rec)) await sleep(200);
  if (isOurProcess(rec)) signal('SIGKILL');
  while (isOurProcess(rec)) await sleep(100);
  fs.rmSync(pidFile, { force: true });
  return true;
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns true or `timeoutMs` passes; returns the last error for the message. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; alive?: () => boolean; logFile?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    if (opts.alive && !opts.alive()) {
      throw new StackError(`${what} exited during start-up.${logHint(opts.logFile)}`);
    }
    await sleep(opts.intervalMs ?? 500);
  }
  const detail = lastError instanceof Error ? ` Last error: ${lastError.message}.` : '';
  throw new StackError(`${what} was not healthy after ${opts.timeoutMs / 1000}s.${detail}${logHint(opts.logFile)}`);
}

/** Throws a StackError naming the missing toolchain and how to get it. */
export function requireTool(tool: string, versionArgs: string[], fix: string): void {
  const res = spawnSync(tool, versionArgs, { stdio: 'ignore' });
  if (res.error || res.status !== 0) {
    throw new StackError(`'${tool}' was not found on PATH; it is needed to provision the stack. ${fix}`);
  }
}
