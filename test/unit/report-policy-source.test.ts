/**
 * The backtest report warns when the policy that decided was tuned on another source than the one replayed, and
 * says how to tune one on it. Pure: replay manifests are stood in by a map from replay id to manifest source.
 */
import { describe, expect, it } from 'vitest';
import {
  BacktestReport,
  buildBacktestReport,
  checkPolicySource,
  renderReportHtml,
  sourceIdentity,
  tuningReplaysOf,
} from '../../src/replay/report';
import type { PolicyOrigin } from '../../src/replay/report';
import { Decision } from '../../src/schemas/decision';
import { minimalDecision } from '../support/decision-fixture';

const manifests = new Map([
  ['history-tune', 'file:///data/history.csv scoring […, 2026-06-01T00:00:00.000Z)'],
  ['other-bank', 'file:///data/other-bank.csv'],
  ['stream-january', 'kafka://bank.transactions from 2026-01-01T00:00:00.000Z to 2026-02-01T00:00:00.000Z'],
]);
const sourceOf = (replayId: string) => manifests.get(replayId);
const tunedOn = (...tuningReplayIds: string[]): PolicyOrigin => ({
  name: 'bank-policy',
  shipped: false,
  tuningReplayIds,
});
const shipped: PolicyOrigin = {
  name: 'policy-synthetic-a1c451fb',
  shipped: true,
  tuningReplayIds: ['quality-synthetic-a1c451fb-tune'],
};

describe('the policy tuned on the source replayed', () => {
  it('a later period of the same file is the same source: no warning', () => {
    const check = checkPolicySource(
      tunedOn('history-tune'),
      'file:///data/history.csv scoring [2026-06-01T00:00:00.000Z, …)',
      sourceOf,
    );
    expect(check).toEqual({
      policy: 'bank-policy',
      verdict: 'same-source',
      tuningReplayId: 'history-tune',
      tunedOn: '/data/history.csv',
      replayed: '/data/history.csv',
      warning: null,
    });
  });

  it('another range of the same Kafka topic is the same source', () => {
    const check = checkPolicySource(
      tunedOn('stream-january'),
      'kafka://bank.transactions from 2026-02-01T00:00:00.000Z',
      sourceOf,
    );
    expect(check).toMatchObject({ verdict: 'same-source', tunedOn: 'kafka:bank.transactions', warning: null });
  });

  it('a policy fitted on several replays (model train) is fine when one of them is this source', () => {
    const check = checkPolicySource(tunedOn('other-bank', 'history-tune'), 'file:///data/history.csv', sourceOf);
    expect(check).toMatchObject({ verdict: 'same-source', tuningReplayId: 'history-tune' });
  });

  it('the shipped policy is fine on the synthetic replay it was tuned on', () => {
    const withSynthetic = (id: string) =>
      id === 'quality-synthetic-a1c451fb-tune'
        ? 'file:///bench/synthetic.jsonl scoring […, 2026-01-08T10:58:34.009Z)'
        : undefined;
    expect(checkPolicySource(shipped, 'file:///bench/synthetic.jsonl', withSynthetic).verdict).toBe('same-source');
  });
});

describe('the policy tuned on another source', () => {
  it('another file warns, naming both and the commands that tune one on this source', () => {
    const check = checkPolicySource(tunedOn('other-bank'), 'file:///data/history.csv', sourceOf);
    expect(check).toMatchObject({
      verdict: 'other-source',
      tuningReplayId: 'other-bank',
      tunedOn: '/data/other-bank.csv',
      replayed: '/data/history.csv',
    });
    expect(check.warning).toContain(
      'policy bank-policy was tuned on /data/other-bank.csv (replay other-bank), not on /data/history.csv',
    );
    expect(check.warning).toContain(
      'fraudflow replay /data/history.csv --prepare-only, then fraudflow tune <the replayId it prints>',
    );
  });

  it('a file against a Kafka topic warns, and the command names the topic as replay takes it', () => {
    const check = checkPolicySource(tunedOn('history-tune'), 'kafka://bank.transactions', sourceOf);
    expect(check.verdict).toBe('other-source');
    expect(check.warning).toContain('fraudflow replay kafka:bank.transactions --prepare-only');
  });

  it("the shipped synthetic policy on a bank's CSV warns", () => {
    const check = checkPolicySource(shipped, "file:///home/ana/bank export's.csv", sourceOf);
    expect(check).toMatchObject({
      verdict: 'shipped',
      tuningReplayId: 'quality-synthetic-a1c451fb-tune',
      tunedOn: null,
      replayed: "/home/ana/bank export's.csv",
    });
    expect(check.warning).toMatch(
      /^policy policy-synthetic-a1c451fb is the one shipped with fraudflow, tuned on its synthetic transactions, not on/,
    );
    // The path is quoted so that the command can be pasted into a shell.
    expect(check.warning).toContain(`fraudflow replay '/home/ana/bank export'\\''s.csv' --prepare-only`);
  });

  it('a tuning source not known here warns that it cannot tell', () => {
    const absent = checkPolicySource(tunedOn('elsewhere'), 'file:///data/history.csv', sourceOf);
    expect(absent).toMatchObject({ verdict: 'unknown', tuningReplayId: 'elsewhere', tunedOn: null });
    expect(absent.warning).toContain('it was tuned on replay elsewhere, which is not in this REPLAY_DIR');
    const silent = checkPolicySource(tunedOn(), 'file:///data/history.csv', sourceOf);
    expect(silent).toMatchObject({ verdict: 'unknown', tuningReplayId: null });
    expect(silent.warning).toContain('its provenance names no replay it was tuned on');
  });
});

describe('reading sources and provenance', () => {
  it('a manifest source is a file path or a Kafka topic, without its window or range', () => {
    expect(sourceIdentity('file:///d/a b.csv scoring [2026-01-01T00:00:00.000Z, …)')).toEqual({
      kind: 'file',
      path: '/d/a b.csv',
    });
    expect(sourceIdentity('kafka://t.x from offset 5 to offset 9')).toEqual({ kind: 'kafka', topic: 't.x' });
    expect(sourceIdentity('s3://bucket/key')).toBeUndefined();
  });

  it("a policy's tuning replays: fraudflow tune's replayId, model train's replayIds", () => {
    expect(tuningReplaysOf({ replayId: 'a', rows: 10 })).toEqual(['a']);
    expect(tuningReplaysOf({ replayIds: ['b', 'c', 3], slice: 'calibrate' })).toEqual(['b', 'c']);
    expect(tuningReplaysOf({ purpose: 'tests' })).toEqual([]);
  });
});

describe('in the report', () => {
  const decision = Decision.parse(
    minimalDecision({
      decidedAt: '2026-11-24T10:01:00.000Z',
      source: { kind: 'replay', replayId: 'r', uri: 'file:///home/ana/bank.csv', line: 2 },
      policyHash: 'p',
    }),
  );
  const policySource = checkPolicySource(shipped, 'file:///home/ana/bank.csv', sourceOf);
  const report = buildBacktestReport([{ decision, label: { isFraud: false } }], {
    replayId: 'r',
    policyHash: 'p',
    thresholds: { approveBelow: 0.4, declineAt: 0.8 },
    hostedPricing: { inputUsdPerMTok: 2.5, outputUsdPerMTok: 10 },
    startedAt: '2026-11-24T10:00:00.000Z',
    finishedAt: '2026-11-24T10:02:00.000Z',
    measuredOver: 'command',
    invalidRows: [],
    policySource,
  });

  it('is recorded in the JSON, first among the warnings, and in bold at the top of the page', () => {
    expect(report.policySource).toEqual(policySource);
    expect(report.warnings[0]).toBe(policySource.warning);
    expect(BacktestReport.parse(JSON.parse(JSON.stringify(report)))).toEqual(report);
    const html = renderReportHtml(report);
    expect(html).toContain('<div class="warn"><div><strong>policy policy-synthetic-a1c451fb is the one shipped');
    expect(html).toContain('(policy-synthetic-a1c451fb, tuned on a source not known here)');
  });
});
