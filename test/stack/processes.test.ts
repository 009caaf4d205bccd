/**
 * The stack's process check without /proc (macOS): the command line comes from `ps`, so a recycled pid is still
 * told apart from the service that recorded it. Pure of the stack: only child processes of the test.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PidRecord } from '../../src/stack/processes';
import { commandLineReader, isOurProcess, psCommandLine } from '../../src/stack/processes';

describe('process check', () => {
  const noProc = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-no-proc-'));
  let child: ChildProcess;
  let record: PidRecord;

  beforeAll(() => {
    child = spawn('sleep', ['300'], { stdio: 'ignore' });
    if (child.pid === undefined) throw new Error('could not start sleep');
    record = { pid: child.pid, command: 'sleep', startedAt: new Date().toISOString() };
  });
  afterAll(() => {
    child.kill('SIGKILL');
    fs.rmSync(noProc, { recursive: true, force: true });
  });

  it('falls back to the injected reader when /proc is absent, and only then', () => {
    const asked: number[] = [];
    const fallback = (pid: number) => {
      asked.push(pid);
      return 'sleep 300';
    };
    expect(commandLineReader(noProc, fallback)(record.pid)).toBe('sleep 300');
    expect(asked).toEqual([record.pid]);
    if (fs.existsSync('/proc/self/cmdline')) {
      expect(commandLineReader('/proc', fallback)(record.pid)).toContain('sleep');
      expect(asked).toEqual([record.pid]);
    }
  });

  it('reads a command line through ps', () => {
    expect(psCommandLine(record.pid)).toBe('sleep 300');
    expect(psCommandLine(2 ** 22 + 12345)).toBeUndefined();
  });

  it('without /proc, knows its own process and refuses a recycled pid that runs something else', () => {
    const viaPs = commandLineReader(noProc);
    expect(isOurProcess(record, viaPs)).toBe(true);
    expect(isOurProcess({ ...record, command: '/opt/fraudflow/bin/kafka-server-start.sh' }, viaPs)).toBe(false);
  });

  it('takes a live process whose command line cannot be read as ours, and a dead one as gone', async () => {
    const unreadable = commandLineReader(noProc, () => undefined);
    expect(isOurProcess({ ...record, command: 'anything' }, unreadable)).toBe(true);
    const done = spawn('true');
    await new Promise((r) => done.once('exit', r));
    expect(isOurProcess({ pid: done.pid ?? -1, command: 'true', startedAt: '' }, unreadable)).toBe(false);
  });
});
