/**
 * Runs an external tool (a build, a trainer, `ollama create`) to completion with its output in a log file, so a
 * failure names the log and shows its last lines instead of flooding the terminal.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { StackError } from './errors';

/** Runs `command` to completion, streaming into `logFile`; throws a StackError naming the log. */
export function runToLog(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string; what: string },
): Promise<void> {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const out = fs.openSync(opts.logFile, 'a');
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', out, out],
    });
    child.once('error', (err) => {
      fs.closeSync(out);
      reject(new StackError(`${opts.what} failed: ${err.message}`));
    });
    child.once('exit', (code) => {
      fs.closeSync(out);
      if (code === 0) resolve();
      else reject(new StackError(`${opts.what} failed (exit ${code}).${logHint(opts.logFile)}`));
    });
  });
}

/** " See <log>; its last lines: ..." for an error message, or nothing when there is no log. */
export function logHint(logFile?: string): string {
  if (!logFile || !fs.existsSync(logFile)) return '';
  const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
  return ` See ${logFile}; its last lines:\n${tail}`;
}
