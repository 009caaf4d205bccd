import { describe, expect, it } from 'vitest';
import {
  BacktestReport,
  buildBacktestReport,
  challengerRows,
  compareReports,
  parseBacktestReport,
  renderComparisonHtml,
  renderReportHtml,
} from '../../src/replay/report';
import type { BacktestOptions, ScoredRow } from '../../src/replay/report';
import { Decision } from '../../src/schemas/decision';
import type { DecisionOutcome, ModelCall, ScoringPath } from '../../src/schemas/decision';

const localModel = 'fraudflow-smollm2:135m-q4_1';
const hostedModel = 'fraudflow-frontier-standin';
const pricing = { inputUsdPerMTok: 2.5, outputUsdPerMTok: 10 };

function local(latencyMs: number, outcome: ModelCall['outcome'] = 'ok'): ModelCall {
  const ok = outcome === 'ok';
  return {
    provider: 'local',
    model: localModel,
    tier: 'local',
    outcome,
    latencyMs,
    inputTokens: ok ? 200 : 0,
    outputTokens: ok ? 40 : 0,
    costUsd: 0,
  };
}

function hosted(latencyMs: number, outcome: ModelCall['outcome'] = 'ok'): ModelCall {
  const ok = outcome === 'ok';
  // 150 input and 30 output tokens at $2.5 / $10 per million: (375 + 300) / 1e6 = $0.000675.
  return {
    provider: 'frontier-standin',
    // The workflow records a failed hosted call under the provider's name, as here.
    model: ok ? hostedModel : 'frontier-standin',
    tier: 'hosted',
    outcome,
    latencyMs,
    inputTokens: ok ? 150 : 0,
    outputTokens: ok ? 30 : 0,
    costUsd: ok ? 0.000675 : 0,
  };
}

const base = Date.parse('2026-11-24T10:00:00.000Z');
const at = (ms: number) => new Date(base + ms).toISOString();

interface RowSpec {
  id: string;
  decision: DecisionOutcome;
  path: ScoringPath;
  score: number;
  fraud?: boolean;
  calls: ModelCall[];
  /** produce-to-decision latency through Kafka, or replay submit-to-decision latency, in ms */
  kafkaMs?: number;
  submittedMs?: number;
  policyHash?: string;
}

function row(spec: RowSpec): ScoredRow {
  const decidedAt = at(60_000);
  const decision = Decision.parse({
    schemaVersion: 1,
    transactionId: spec.id,
    decision: spec.decision,
    riskScore: spec.score,
    reasons: [],
    path: spec.path,
    ruleHits: spec.path === 'rules' ? [{ rule: 'blocked_country', effect: 'decline', detail: 'KP' }] : [],
    modelCalls: spec.calls,
    decidedAt,
    workflowId: `score-${spec.id}`,
    runId: `run-${spec.id}`,
    source:
      spec.kafkaMs !== undefined
        ? {
            kind: 'kafka',
            topic: 'fraudflow.transactions',
            partition: 0,
            offset: '1',
            timestamp: at(60_000 - spec.kafkaMs),
          }
        : { kind: 'replay', replayId: 'replay-a', uri: 'file:test.csv', line: 2 },
    policyHash: spec.policyHash ?? 'policy-1',
    promptVersion: 'fraud-analyst-v1',
  });
  return {
    decision,
    ...(spec.fraud === undefined ? {} : { label: { isFraud: spec.fraud } }),
    ...(spec.submittedMs === undefined ? {} : { submittedAt: at(60_000 - spec.submittedMs) }),
  };
}

// Ten decisions, nine labelled (4 fraud, 5 legit), thresholds approve < 0.4, decline ≥ 0.8.
const specs: RowSpec[] = [
  { id: 't1', decision: 'approve', path: 'local', score: 0.05, fraud: false, calls: [local(100)], kafkaMs: 1000 },
  { id: 't2', decision: 'approve', path: 'local', score: 0.15, fraud: false, calls: [local(200)], kafkaMs: 2000 },
  { id: 't3', decision: 'approve', path: 'local', score: 0.25, fraud: true, calls: [local(300)], kafkaMs: 3000 },
  {
    id: 't4',
    decision: 'review',
    path: 'escalated',
    score: 0.55,
    fraud: false,
    calls: [local(400), hosted(1000)],
    kafkaMs: 4000,
  },
  {
    id: 't5',
    decision: 'review',
    path: 'escalated',
    score: 0.65,
    fraud: true,
    calls: [local(500), hosted(1100)],
    kafkaMs: 5000,
  },
  {
    id: 't6',
    decision: 'decline',
    path: 'escalated',
    score: 0.9,
    fraud: true,
    calls: [local(600), hosted(1200)],
    submittedMs: 6000,
  },
  { id: 't7', decision: 'decline', path: 'rules', score: 1, fraud: true, calls: [], submittedMs: 500 },
  { id: 't8', decision: 'decline', path: 'local', score: 0.85, fraud: false, calls: [local(700)] },
  {
    id: 't9',
    decision: 'review',
    path: 'fallback',
    score: 0.5,
    fraud: false,
    calls: [local(800, 'error'), hosted(900, 'error')],
    submittedMs: 9000,
  },
  { id: 't10', decision: 'approve', path: 'local', score: 0.35, calls: [local(150)], policyHash: 'policy-2' },
];

const options: BacktestOptions = {
  replayId: 'replay-a',
  policyHash: 'policy-1',
  thresholds: { approveBelow: 0.4, declineAt: 0.8 },
  hostedPricing: pricing,
  startedAt: at(0),
  finishedAt: at(20_000),
  invalidRows: [
    { line: 3, error: 'invalid JSON: Unexpected end of JSON input' },
    { line: 7, error: '✖ <script>alert("x")</script> & more' },
  ],
};

const report = buildBacktestReport(specs.map(row), options);

describe('buildBacktestReport', () => {
  it('counts rows, labels, outcomes and paths', () => {
    expect(report.counts).toEqual({ rows: 12, scored: 10, invalid: 2, labelled: 9, fraud: 4, legit: 5, unlabelled: 1 });
    expect(report.decisions.byOutcome).toEqual({ approve: 4, review: 3, decline: 3 });
    expect(report.decisions.byPath).toEqual({ rules: 1, local: 5, escalated: 3, fallback: 1 });
    expect(BacktestReport.parse(report)).toEqual(report);
  });

  it('confusion matrix and metrics with flag = decline', () => {
    const p = report.operatingPoints.decline;
    // Declined: t6 (fraud), t7 (fraud), t8 (legit). Fraud not declined: t3, t5. Legit not declined: t1, t2, t4, t9.
    expect(p.matrix).toEqual({ truePositives: 2, falsePositives: 1, trueNegatives: 4, falseNegatives: 2 });
    expect(p.precision).toBeCloseTo(2 / 3, 12); // 2 / (2 + 1)
    expect(p.recall).toBeCloseTo(0.5, 12); // 2 / (2 + 2)
    expect(p.f1).toBeCloseTo(4 / 7, 12); // 2·2 / (2·2 + 1 + 2) = 2PR/(P+R) = 2·(2/3)·(1/2) / (7/6)
    expect(p.accuracy).toBeCloseTo(6 / 9, 12); // (2 + 4) / 9
    expect(p.falsePositiveRate).toBeCloseTo(0.2, 12); // 1 / (1 + 4)
  });

  it('confusion matrix and metrics with flag = review or decline', () => {
    const p = report.operatingPoints.reviewOrDecline;
    // Flagged: t4, t8, t9 (legit) and t5, t6, t7 (fraud). Missed fraud: t3. Legit approved: t1, t2.
    expect(p.matrix).toEqual({ truePositives: 3, falsePositives: 3, trueNegatives: 2, falseNegatives: 1 });
    expect(p.precision).toBeCloseTo(0.5, 12); // 3 / 6
    expect(p.recall).toBeCloseTo(0.75, 12); // 3 / 4
    expect(p.f1).toBeCloseTo(0.6, 12); // 2·3 / (6 + 3 + 1)
    expect(p.accuracy).toBeCloseTo(5 / 9, 12); // (3 + 2) / 9
    expect(p.falsePositiveRate).toBeCloseTo(0.6, 12); // 3 / (3 + 2)
  });

  it('division by zero is null, not NaN', () => {
    const empty = buildBacktestReport([], { ...options, invalidRows: [], finishedAt: options.startedAt });
    expect(empty.operatingPoints.decline).toMatchObject({ precision: null, recall: null, f1: null, accuracy: null });
    expect(empty.escalation.rate).toBeNull();
    expect(empty.modelCalls.hostedShare).toBeNull();
    expect(empty.cost.savingsPct).toBeNull();
    expect(empty.latencyMs.model).toEqual({ count: 0, p50: null, p95: null, p99: null });
    expect(empty.throughput.rowsPerSecond).toBeNull();
    expect(BacktestReport.parse(empty)).toEqual(empty);
  });

  it('score distribution by label in ten buckets', () => {
    expect(report.scoreDistribution.map((b) => b.fraud)).toEqual([0, 0, 1, 0, 0, 0, 1, 0, 0, 2]); // t3, t5, t6 + t7 (1.0)
    expect(report.scoreDistribution.map((b) => b.legit)).toEqual([1, 1, 0, 0, 0, 2, 0, 0, 1, 0]); // t1, t2, t9 + t4, t8
    expect(report.scoreDistribution.map((b) => b.unlabelled)).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]); // t10
    expect(report.scoreDistribution[3]).toMatchObject({ from: 0.3, to: 0.4 });
  });

  it('escalation rate, local vs hosted calls and tokens by tier', () => {
    expect(report.escalation).toEqual({ transactions: 4, rate: 0.4 }); // t4, t5, t6, t9 of 10
    // 9 local calls (all but t7), 4 hosted (t4, t5, t6, t9); t9's two calls failed.
    expect(report.modelCalls).toMatchObject({ total: 13, local: 9, hosted: 4, failed: 2 });
    expect(report.modelCalls.localShare).toBeCloseTo(9 / 13, 12);
    expect(report.modelCalls.hostedShare).toBeCloseTo(4 / 13, 12);
    // 8 successful local calls of 200 + 40 tokens; 3 successful hosted calls of 150 + 30.
    expect(report.tokens).toEqual({ local: { input: 1600, output: 320 }, hosted: { input: 450, output: 90 } });
    expect(report.models).toEqual([
      { model: localModel, provider: 'local', tier: 'local', calls: 9, ok: 8 },
      { model: hostedModel, provider: 'frontier-standin', tier: 'hosted', calls: 3, ok: 3 },
      { model: 'frontier-standin', provider: 'frontier-standin', tier: 'hosted', calls: 1, ok: 0 },
    ]);
  });

  it('actual cost against the hosted-only counterfactual', () => {
    // Actual: 3 hosted calls × $0.000675 = $0.002025.
    expect(report.cost.actualUsd).toBe(0.002025);
    // Local tokens at hosted prices: (1600 × 2.5 + 320 × 10) / 1e6 = $0.0072; plus the actual hosted $0.002025.
    expect(report.cost.hostedOnlyUsd).toBe(0.009225);
    expect(report.cost.savingsUsd).toBe(0.0072);
    expect(report.cost.savingsPct).toBeCloseTo((0.0072 / 0.009225) * 100, 9); // 78.048…%
    expect(report.cost.hostedPricing).toEqual(pricing);
  });

  it('latency percentiles of model time and end-to-end', () => {
    // Model time per transaction with calls: 100, 150, 200, 300, 700, 1400, 1600, 1700, 1800 (t7 made none).
    // Nearest rank: p50 = 5th of 9, p95 = ceil(8.55) = 9th, p99 = 9th.
    expect(report.latencyMs.model).toEqual({ count: 9, p50: 700, p95: 1800, p99: 1800 });
    // Kafka timestamps (t1-t5) and replay submit times (t6, t7, t9): 500, 1000, ..., 5000, 6000, 9000; t8 and t10 have
    // neither. p50 = 4th of 8, p95 = ceil(7.6) = 8th.
    expect(report.latencyMs.endToEnd).toEqual({ count: 8, p50: 3000, p95: 9000, p99: 9000 });
  });

  it('throughput, invalid rows and warnings', () => {
    expect(report.throughput).toEqual({ durationMs: 20_000, rowsPerSecond: 0.5 }); // 10 rows in 20 s
    expect(report.invalidRows).toEqual(options.invalidRows);
    expect(report.warnings).toEqual([
      '1 decision(s) carry a policyHash other than policy-1',
      '1 decision(s) have no label and are left out of the confusion matrices',
    ]);
  });

  it('a report written as JSON reads back unchanged through parseBacktestReport', () => {
    const saved = JSON.stringify(report, null, 2);
    const read = parseBacktestReport(JSON.parse(saved), 'replays/replay-a/report.json');
    expect(read).toStrictEqual(report);
    expect(JSON.stringify(read, null, 2)).toBe(saved);
    // Ratios with nothing to divide by are written as null and read back as null.
    const empty = buildBacktestReport([], { ...options, invalidRows: [], finishedAt: options.startedAt });
    expect(parseBacktestReport(JSON.parse(JSON.stringify(empty)), 'empty.json')).toStrictEqual(empty);
  });

  it('a report with a field of the wrong type is refused, naming the file', () => {
    const corrupted: unknown = JSON.parse(JSON.stringify({ ...report, counts: { ...report.counts, scored: '10' } }));
    expect(() => parseBacktestReport(corrupted, 'replays/replay-a/report.json')).toThrow(
      /^replays\/replay-a\/report\.json is not a backtest report:\n.*counts\.scored/s,
    );
  });
});

// The same replay with t3 caught: declined by the local model at 0.85.
const improvedSpecs = specs.map((s) => (s.id === 't3' ? { ...s, decision: 'decline' as const, score: 0.85 } : s));
const improved = buildBacktestReport(improvedSpecs.map(row), {
  ...options,
  replayId: 'replay-b',
  policyHash: 'policy-2',
  finishedAt: at(10_000),
});

describe('compareReports', () => {
  const cmp = compareReports(report, improved);
  const metric = (key: string) => cmp.metrics.find((m) => m.key === key);

  it('puts key metrics side by side with b − a deltas', () => {
    expect(cmp.a).toMatchObject({ replayId: 'replay-a', policyHash: 'policy-1' });
    expect(cmp.b).toMatchObject({ replayId: 'replay-b', policyHash: 'policy-2' });
    expect(cmp.samePolicy).toBe(false);
    // flag = decline: TP 2 → 3, FN 2 → 1: precision 2/3 → 3/4, recall 1/2 → 3/4, F1 4/7 → 6/8.
    expect(metric('decline.precision')).toMatchObject({ a: 2 / 3, b: 0.75, better: 'higher' });
    expect(metric('decline.precision')?.delta).toBeCloseTo(0.75 - 2 / 3, 12);
    expect(metric('decline.recall')).toMatchObject({ a: 0.5, b: 0.75, delta: 0.25 });
    expect(metric('decline.f1')?.delta).toBeCloseTo(0.75 - 4 / 7, 12);
    expect(metric('decisions.declineRate')).toMatchObject({ a: 0.3, b: 0.4, delta: 0.1 });
    expect(metric('cost.actualUsd')).toMatchObject({ a: 0.002025, b: 0.002025, delta: 0 });
    expect(metric('throughput.rowsPerSecond')).toMatchObject({ a: 0.5, b: 1, delta: 0.5 });
    expect(metric('latencyMs.model.p50')).toMatchObject({ a: 700, b: 700, delta: 0, better: 'lower' });
  });

  it('a delta is null when either side is', () => {
    const empty = buildBacktestReport([], { ...options, invalidRows: [] });
    expect(compareReports(empty, report).metrics.find((m) => m.key === 'decline.precision')).toMatchObject({
      a: null,
      delta: null,
    });
  });
});

describe('HTML', () => {
  const html = renderReportHtml(report);

  it('is one self-contained page: no external references or scripts', () => {
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|src=|@import|url\(/i);
    expect(html).toContain('<svg');
    expect(html).toContain('<style>');
  });

  it('escapes text from the data', () => {
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
  });

  it('shows the metric values', () => {
    for (const text of [
      // flag = decline, then flag = review or decline
      '<td class="tp">TP 2</td><td class="fn">FN 2</td></tr><tr><td>legit</td><td class="fp">FP 1</td><td class="tn">TN 4</td>',
      '<td class="tp">TP 3</td><td class="fn">FN 1</td></tr><tr><td>legit</td><td class="fp">FP 3</td><td class="tn">TN 2</td>',
      '0.667',
      '0.500',
      '0.571',
      '0.200',
      '0.750',
      '0.600',
      '0.556',
      '40.0%', // escalation rate
      '69.2%',
      '30.8%', // local and hosted share of calls
      '$0.002025',
      '$0.009225',
      '$0.007200',
      '78.0%',
      '700ms',
      '1.80s',
      '3.00s',
      '9.00s',
      '0.50 rows/s',
      localModel,
      hostedModel,
    ]) {
      expect(html, text).toContain(text);
    }
  });

  it('with a comparison, and as a comparison page, shows signed deltas', () => {
    const withOther = renderReportHtml(improved, { other: report });
    expect(withOther).toContain('+0.250'); // recall at flag = decline
    expect(withOther).not.toMatch(/https?:\/\//);
    const page = renderComparisonHtml(report, improved);
    expect(page).toContain('Backtest comparison: replay-a vs replay-b');
    expect(page).toContain('+0.250');
    expect(page).toContain('+0.100'); // decline rate 0.3 → 0.4
    expect(page).toContain('different policies');
    expect(page).not.toMatch(/https?:\/\/|<script/);
  });
});

describe('challenger rows (a replay with a challenger in shadow)', () => {
  const base = row({ id: 's1', decision: 'approve', path: 'local', score: 0.1, fraud: true, calls: [local(100)] });
  const shadowOf = (shadow: Decision['shadow']): ScoredRow => ({ ...base, decision: { ...base.decision, shadow } });

  it("decides each row as the challenger's first pass did, with no hosted cost, and leaves out rows it never saw", () => {
    const rows = [
      shadowOf({ model: 'm:ft', policyHash: 'p2', outcome: 'ok', riskScore: 0.9, decision: 'decline', latencyMs: 5 }),
      shadowOf({ model: 'm:ft', policyHash: 'p2', outcome: 'error', latencyMs: 5, error: 'down' }),
      base,
    ];
    const challenger = challengerRows(rows);
    expect(challenger).toHaveLength(2);
    expect(challenger[0]!.decision).toMatchObject({ decision: 'decline', riskScore: 0.9, path: 'local' });
    expect(challenger[0]!.decision.policyHash).toBe('p2');
    expect(challenger[0]!.decision.modelCalls).toEqual([]);
    // A challenger that failed sends the transaction to review, as a failed first pass does.
    expect(challenger[1]!.decision).toMatchObject({ decision: 'review', path: 'fallback' });
    expect(challenger.every((r) => r.label?.isFraud === true)).toBe(true);
  });
});
