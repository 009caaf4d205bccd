/**
 * Progress of a long step (embedding, fitting, the hosted sample, replay preparation) that a user waits for: a bar
 * on a terminal, otherwise a plain line at least every `everyMs` (30 s at most) with done/total, the rate and an
 * ETA, so a log or a CI job shows the step is alive and when it will end.
 */
import cliProgress from 'cli-progress';

export interface StepProgressOptions {
  log: (line: string) => void;
  /** Draw a bar instead of lines. @default process.stdout.isTTY */
  tty?: boolean;
  /** Longest gap between two lines when not drawing a bar. @default 15_000 */
  everyMs?: number;
  /** The clock, for tests. @default Date.now */
  now?: () => number;
}

export interface StepProgressReporter {
  /** Sets how much is done (of `total`). */
  update(done: number, total?: number): void;
  /** Ends the step: a last line (or the bar's end). */
  finish(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One line of progress: `embedding: 1200/7184 (16.7%), 9.8/s, ETA 10m10s`. */
export function progressLine(what: string, done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const share = total > 0 ? ((100 * done) / total).toFixed(1) : '100.0';
  const eta = done >= total ? '0s' : rate > 0 ? formatDuration((total - done) / rate) : 'unknown';
  return `${what}: ${done}/${total} (${share}%), ${rate.toFixed(1)}/s, ETA ${eta}`;
}

export function stepProgress(what: string, total: number, opts: StepProgressOptions): StepProgressReporter {
  const now = opts.now ?? Date.now;
  const started = now();
  const tty = opts.tty ?? process.stdout.isTTY === true;
  const everyMs = Math.min(opts.everyMs ?? 15_000, 30_000);
  let current = { done: 0, total };
  let lastLine = started;
  const bar = tty
    ? new cliProgress.SingleBar({ format: `${what} [{bar}] {value}/{total} | ETA {eta_formatted}` })
    : undefined;
  bar?.start(total, 0);
  const printLine = () => {
    lastLine = now();
    opts.log(progressLine(what, current.done, current.total, lastLine - started));
  };
  // A step waiting on an outside service calls update rarely: the timer keeps the lines coming.
  const timer =
    bar || everyMs <= 0 ? undefined : setInterval(() => now() - lastLine >= everyMs && printLine(), everyMs);
  timer?.unref();
  return {
    update(done, newTotal) {
      current = { done, total: newTotal ?? current.total };
      if (bar) {
        if (newTotal !== undefined) bar.setTotal(newTotal);
        bar.update(done);
        return;
      }
      if (now() - lastLine >= everyMs) printLine();
    },
    finish() {
      bar?.stop();
      if (timer) clearInterval(timer);
      opts.log(
        `${progressLine(what, current.done, current.total, now() - started)} (${formatDuration((now() - started) / 1000)} in all)`,
      );
    },
  };
}
