import { describe, expect, it } from 'vitest';
import { RunningWorkflowLimit, admissions } from '../../src/kafka/running-limit';

const base = { max: 200, running: 0, recentStarts: 0, sharers: 1, perRefreshCap: Number.POSITIVE_INFINITY };

describe('admissions: how many starts one ingest may admit until its next refresh', () => {
  it('admits the whole headroom when alone and unlimited', () => {
    expect(admissions({ ...base, running: 50 })).toBe(150);
  });

  it('splits the headroom between the ingests of the group', () => {
    expect(admissions({ ...base, running: 50, sharers: 2 })).toBe(75);
  });

  it('takes its own recent starts off its share, so two ingests cannot both spend what the count does not show yet', () => {
    // Two ingests each started 100 a moment ago; the count shows 60 of the 200. Neither may admit more.
    expect(admissions({ ...base, running: 60, recentStarts: 100, sharers: 2 })).toBe(0);
    // Together they never go past the bound: 2 × (floor(140 / 2) − 40) + 60 + 2 × 40 = 200.
    const each = admissions({ ...base, running: 60, recentStarts: 40, sharers: 2 });
    expect(each).toBe(30);
    expect(60 + 2 * 40 + 2 * each).toBeLessThanOrEqual(200);
  });

  it('paces a burst: at most its part of the per-refresh start cap', () => {
    expect(admissions({ ...base, sharers: 2, perRefreshCap: 25 })).toBe(12);
    expect(admissions({ ...base, sharers: 4, perRefreshCap: 2 })).toBe(1);
  });

  it('admits nothing at or past the bound', () => {
    expect(admissions({ ...base, running: 200 })).toBe(0);
    expect(admissions({ ...base, running: 250 })).toBe(0);
  });

  it('still lets one through when the bound is smaller than the group and nothing runs', () => {
    expect(admissions({ ...base, max: 1, sharers: 3 })).toBe(1);
    expect(admissions({ ...base, max: 1, sharers: 3, recentStarts: 1 })).toBe(0);
  });
});

describe('RunningWorkflowLimit', () => {
  const keepWaiting = { keepWaiting: () => true, whileWaiting: () => Promise.resolve() };

  it('admits within the bound, then waits until the count drops', async () => {
    let running = 0;
    const limit = new RunningWorkflowLimit({
      max: 3,
      countRunning: () => Promise.resolve(running),
      sharers: () => 1,
      refreshMs: 20,
      visibilityLagMs: 0,
    });
    for (let i = 0; i < 3; i++) expect(await limit.acquire(keepWaiting)).toBe(true);
    running = 3;
    let admitted = false;
    const waiting = limit.acquire(keepWaiting).then((ok) => (admitted = ok));
    await new Promise((r) => setTimeout(r, 80));
    expect(admitted).toBe(false);
    expect(limit.holding).toBe(true);
    running = 2;
    await waiting;
    expect(admitted).toBe(true);
  });

  it('paces starts at maxStartsPerSecond', async () => {
    const limit = new RunningWorkflowLimit({
      max: 1000,
      countRunning: () => Promise.resolve(0),
      sharers: () => 1,
      maxStartsPerSecond: 100,
      refreshMs: 100,
      visibilityLagMs: 0,
    });
    const started = Date.now();
    for (let i = 0; i < 30; i++) await limit.acquire(keepWaiting);
    // 10 per 100 ms refresh: the 30th start comes after at least two further refreshes.
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
  });

  it('admits nothing while Temporal cannot be counted, and gives up when told to stop waiting', async () => {
    let stop = false;
    const limit = new RunningWorkflowLimit({
      max: 10,
      countRunning: () => Promise.reject(new Error('unavailable')),
      sharers: () => 1,
      refreshMs: 20,
    });
    setTimeout(() => (stop = true), 60);
    expect(await limit.acquire({ keepWaiting: () => !stop, whileWaiting: () => Promise.resolve() })).toBe(false);
  });
});
