import { describe, expect, it } from 'vitest';
import { formatDuration, progressLine, stepProgress } from '../../src/observability/step-progress';

describe('progress of a long step, off a terminal', () => {
  it('prints done/total, the rate and an ETA', () => {
    expect(progressLine('embedding', 1200, 7184, 120_000)).toBe('embedding: 1200/7184 (16.7%), 10.0/s, ETA 9m58s');
    expect(progressLine('embedding', 0, 10, 5_000)).toMatch(/ETA unknown/);
    expect(formatDuration(3 * 3600 + 125)).toBe('3h02m');
  });

  it('prints a line once the gap since the last one reaches the interval, and a last line at the end', () => {
    let clock = 0;
    const lines: string[] = [];
    const progress = stepProgress('fitting', 100, {
      log: (l) => lines.push(l),
      tty: false,
      everyMs: 30_000,
      now: () => clock,
    });
    for (let done = 1; done <= 100; done++) {
      clock += 1_000;
      progress.update(done);
    }
    progress.finish();
    // 100 s of updates: lines at 30, 60 and 90 s, then the last one.
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('fitting: 30/100 (30.0%), 1.0/s, ETA 1m10s');
    expect(lines[3]).toMatch(/^fitting: 100\/100 \(100\.0%\).*\(1m40s in all\)$/);
  });

  it('never waits more than 30 s between lines, whatever interval is asked', () => {
    let clock = 0;
    const lines: string[] = [];
    const progress = stepProgress('replay', 10, {
      log: (l) => lines.push(l),
      tty: false,
      everyMs: 120_000,
      now: () => clock,
    });
    clock = 31_000;
    progress.update(1);
    progress.finish();
    expect(lines[0]).toMatch(/^replay: 1\/10/);
  });
});
