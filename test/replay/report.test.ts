import { describe, expect, it } from 'vitest';
import {
  BacktestReport,
  buildBacktestReport,
  challengerRows,
  compareReports,
  describeThroughput,
  parseBacktestReport,
  rateOrigin,
  renderComparisonHtml,
  renderReportHtml,
  reportTiming,
  shadowAgreement,
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
  /** When it was decided, ms after `base`. @default 60 000 */
  decidedMs?: number;
}

function row(spec: RowSpec): ScoredRow {
  const decidedAt = at(spec.decidedMs ?? 60_000);
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
  measuredOver: 'command',
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
    // 10 rows in 20 s of wall time; every decision at the same instant, so scoring alone has no rate.
    expect(report.throughput).toEqual({
      measuredOver: 'command',
      durationMs: 20_000,
      rowsPerSecond: 0.5,
      scoring: { durationMs: 0, rowsPerSecond: null },
    });
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
      shadowOf({
        model: 'm:ft',
        policyFileHash: 'p2',
        outcome: 'ok',
        riskScore: 0.9,
        decision: 'decline',
        latencyMs: 5,
      }),
      shadowOf({ model: 'm:ft', policyFileHash: 'p2', outcome: 'error', latencyMs: 5, error: 'down' }),
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

  // The champion escalated (a failover, then an answer of 0.9) and declined.
  const escalated = row({
    id: 's2',
    decision: 'decline',
    path: 'escalated',
    score: 0.9,
    fraud: true,
    calls: [local(100), hosted(500, 'error'), { ...hosted(900), riskScore: 0.9 }],
  });
  const shadowed = (r: ScoredRow, shadow: Partial<NonNullable<Decision['shadow']>>): ScoredRow => ({
    ...r,
    decision: {
      ...r.decision,
      shadow: { model: 'm:ft', policyFileHash: 'p2', outcome: 'ok', riskScore: 0.6, latencyMs: 5, ...shadow },
    },
  });

  it("carries the champion's hosted calls where the challenger reused its answer, and a skipped one where none was there", () => {
    const reused = shadowed(escalated, { decision: 'decline', path: 'escalated', wouldEscalate: true, agrees: true });
    const unanswered = shadowed(base, { decision: 'review', path: 'local', wouldEscalate: true, agrees: false });
    const [r, u] = challengerRows([reused, unanswered]);
    expect(r!.decision).toMatchObject({ decision: 'decline', path: 'escalated', riskScore: 0.9 });
    expect(r!.decision.modelCalls.map((c) => [c.tier, c.outcome])).toEqual([
      ['hosted', 'error'],
      ['hosted', 'ok'],
    ]);
    expect(r!.firstPassProbability).toBe(0.6);
    expect(u!.decision).toMatchObject({ decision: 'review', path: 'local', riskScore: 0.6 });
    expect(u!.decision.modelCalls).toMatchObject([{ tier: 'hosted', outcome: 'skipped', costUsd: 0 }]);
    const report = buildBacktestReport(challengerRows([reused, unanswered]), options);
    // Both rows escalate; the skipped call is no failure and costs nothing; the reused one costs the champion's.
    expect(report.escalation).toEqual({ transactions: 2, rate: 1 });
    expect(report.modelCalls).toMatchObject({ total: 3, hosted: 3, failed: 1 });
    expect(report.cost.actualUsd).toBeCloseTo(0.000675, 12);
  });

  it('sets the agreement beside both escalation rates', () => {
    const rows = [
      shadowed(escalated, { decision: 'decline', path: 'escalated', wouldEscalate: true, agrees: true }),
      shadowed(base, { decision: 'review', path: 'local', wouldEscalate: true, agrees: false }),
      shadowed(base, { decision: 'approve', path: 'local', wouldEscalate: false, agrees: true }),
      shadowed(base, { outcome: 'error', error: 'down' }),
      base,
    ];
    expect(shadowAgreement(rows)).toEqual({
      scored: 3,
      agreed: 2,
      agreementRate: 2 / 3,
      championEscalationRate: 1 / 3,
      challengerEscalationRate: 2 / 3,
      unansweredEscalations: 1,
    });
  });
});

describe('ranking by the first-pass fraud probability', () => {
  const firstPass = (riskScore: number): ModelCall => ({ ...local(100), riskScore });
  const legit = (id: string, score: number): RowSpec => ({
    id,
    decision: 'approve',
    path: 'local',
    score,
    fraud: false,
    calls: [firstPass(score)],
  });
  // 20 legitimate rows: 17 at 0.1, then 0.5, 0.7 and 0.9. 1% FPR flags floor(0.2) = 0 of them, so the cut is the
  // top legitimate score, 0.9; 5% flags floor(1) = 1, so the cut is the second, 0.7.
  const legitSpecs = [
    ...Array.from({ length: 17 }, (_, i) => legit(`l${i}`, 0.1)),
    legit('l17', 0.5),
    legit('l18', 0.7),
    legit('l19', 0.9),
  ];
  // Five frauds: two first passes above every legitimate score, one at 0.8, one far below; a rule decline (no model
  // call: ranked at its decision's riskScore, 1) and a failed first pass sent to review (ranked at 0.5).
  const fraudSpecs: RowSpec[] = [
    { id: 'f1', decision: 'decline', path: 'local', score: 0.95, fraud: true, calls: [firstPass(0.95)] },
    { id: 'f2', decision: 'decline', path: 'rules', score: 1, fraud: true, calls: [] },
    { id: 'f3', decision: 'decline', path: 'local', score: 0.8, fraud: true, calls: [firstPass(0.8)] },
    { id: 'f4', decision: 'review', path: 'fallback', score: 0.5, fraud: true, calls: [local(100, 'error')] },
    { id: 'f5', decision: 'approve', path: 'local', score: 0.05, fraud: true, calls: [firstPass(0.05)] },
  ];
  // An unlabelled row ranks nothing; a first pass of 0.02 under an escalated decision of 0.99 ranks at 0.02.
  const others: RowSpec[] = [
    { id: 'u1', decision: 'decline', path: 'local', score: 0.99, calls: [firstPass(0.99)] },
    {
      id: 'l20',
      decision: 'decline',
      path: 'escalated',
      score: 0.99,
      fraud: false,
      calls: [firstPass(0.02), hosted(900)],
    },
  ];
  const ranked = buildBacktestReport([...legitSpecs, ...fraudSpecs, ...others].map(row), options);

  it('AUC and recall at 1% and 5% false-positive rate, computed by hand', () => {
    // 21 legitimate rows now (l20 at 0.02 is below every fraud but f5): the cuts stay 0.9 and 0.7 (floor(0.21) = 0,
    // floor(1.05) = 1). Frauds above 0.9: f1, f2; above 0.7: f1, f2, f3.
    expect(ranked.ranking.rows).toBe(26);
    expect(ranked.ranking.withoutFirstPass).toBe(2); // f2 (rule decline), f4 (failed first pass)
    expect(ranked.ranking.recallAt1PctFpr).toBeCloseTo(2 / 5, 12);
    expect(ranked.ranking.recallAt5PctFpr).toBeCloseTo(3 / 5, 12);
    // Legitimate rows each fraud outscores (ties half), of 21: f2 21, f1 21, f3 20 (all but 0.9), f4 18.5 (the 17 at
    // 0.1, l20, and half of 0.5), f5 1 (l20). AUC = 81.5 / (5 × 21).
    expect(ranked.ranking.auc).toBeCloseTo(81.5 / 105, 12);
    expect(BacktestReport.parse(ranked)).toEqual(ranked);
  });

  it('is n/a without both classes', () => {
    const legitOnly = buildBacktestReport(legitSpecs.map(row), options);
    expect(legitOnly.ranking).toEqual({
      rows: 20,
      withoutFirstPass: 0,
      auc: null,
      recallAt1PctFpr: null,
      recallAt5PctFpr: null,
    });
    const unlabelled = buildBacktestReport([row(others[0]!)], options);
    expect(unlabelled.ranking).toMatchObject({ rows: 0, auc: null, recallAt1PctFpr: null, recallAt5PctFpr: null });
    expect(renderReportHtml(legitOnly)).toContain('<td>n/a</td><td>n/a</td><td>n/a</td>');
  });

  it('a challenger scored in shadow is ranked by its own first pass, and the comparison sets the two side by side', () => {
    const shadowed = [...legitSpecs, ...fraudSpecs].map(row).map((r, i) => ({
      ...r,
      decision: {
        ...r.decision,
        shadow: {
          model: 'm:ft',
          policyFileHash: 'p2',
          outcome: 'ok' as const,
          // The challenger ranks every fraud above every legitimate row.
          riskScore: r.label?.isFraud ? 0.9 : 0.01 * (i + 1),
          decision: 'approve' as const,
          latencyMs: 5,
        },
      },
    }));
    const challenger = buildBacktestReport(challengerRows(shadowed), options);
    expect(challenger.ranking).toMatchObject({ rows: 25, withoutFirstPass: 0, auc: 1, recallAt1PctFpr: 1 });
    const cmp = compareReports(ranked, challenger).metrics.find((m) => m.key === 'ranking.auc');
    expect(cmp).toMatchObject({ label: 'First-pass ROC AUC', better: 'higher', b: 1 });
    expect(cmp?.delta).toBeCloseTo(1 - 81.5 / 105, 12);
  });

  it('is in the page beside the operating points', () => {
    const html = renderReportHtml(ranked);
    expect(html).toContain('Ranking by the first-pass fraud probability');
    expect(html).toContain(`<td>${(81.5 / 105).toFixed(3)}</td><td>40.0%</td><td>60.0%</td>`);
    expect(html).toContain("2 row(s) had no first-pass probability and are ranked by their decision's riskScore");
  });
});

describe('throughput over the wall time the user waited', () => {
  // The user's replay: 7,301 rows, the command started at 0 and wrote its report at 2,947 s. Preparation ended at
  // 300 s; the decisions came between 310 s and 2,940 s. The replay workflow continued as new every 40 chunks, and its
  // last run started at 1,595 s: the old figure, 7,301 rows over that last run (1,352 s), read 5.4 rows/s.
  const rows = Array.from({ length: 7301 }, (_, i) =>
    row({
      id: `r${i}`,
      decision: 'approve',
      path: 'local',
      score: 0.1,
      calls: [],
      decidedMs: 310_000 + Math.round((i / 7300) * 2_630_000),
    }),
  );
  const timing = reportTiming({
    commandStartedAt: at(0),
    replayStartedAt: at(45_000), // after the stack came up and the workers started
    replayClosedAt: at(2_946_000),
    now: at(2_947_000),
  });
  const userReport = buildBacktestReport(rows, { ...options, ...timing, invalidRows: [] });

  it("is the command's wall time, from its start to the report", () => {
    expect(timing).toEqual({ measuredOver: 'command', startedAt: at(0), finishedAt: at(2_947_000) });
    expect(userReport.throughput.durationMs).toBe(2_947_000);
    expect(userReport.throughput.rowsPerSecond).toBeCloseTo(7301 / 2947, 12); // 2.48 rows/s
    // Scoring alone, labelled as such: first decision to last, 2,630 s.
    expect(userReport.throughput.scoring.durationMs).toBe(2_630_000);
    expect(userReport.throughput.scoring.rowsPerSecond).toBeCloseTo(7301 / 2630, 12);
  });

  it('is said with what each figure counts, in the console line and the page', () => {
    const line = describeThroughput(userReport);
    expect(line).toBe(
      "2.5 rows/s: 7301 rows in 49 min 7 s, the replay command's wall time, from its start to its report; scoring alone 2.8 rows/s (first to last decision, 43 min 50 s)",
    );
    const html = renderReportHtml(userReport);
    expect(html).toContain('2.48 rows/s');
    expect(html).toContain('throughput (command wall time)');
    expect(html).toContain('(49 min 7 s, command wall time)');
  });

  it('a replay this command did not start counts from its first workflow run, to its close', () => {
    // Resumed at 3,000 s after a crash: the wall time is the replay's own, not this command's 600 s.
    expect(
      reportTiming({
        commandStartedAt: at(3_000_000),
        replayStartedAt: at(45_000),
        replayClosedAt: at(3_600_000),
        now: at(3_601_000),
      }),
    ).toEqual({ measuredOver: 'replay', startedAt: at(45_000), finishedAt: at(3_600_000) });
    // Still running (no close yet): up to now.
    expect(reportTiming({ replayStartedAt: at(45_000), now: at(100_000) })).toMatchObject({ finishedAt: at(100_000) });
  });

  it('a rebuilt report keeps the wall time of the command that ran the replay', () => {
    const saved = { measuredOver: 'command' as const, startedAt: at(0), finishedAt: at(2_947_000) };
    const rebuilt = { replayStartedAt: at(45_000), replayClosedAt: at(2_946_000), now: at(9_000_000) };
    expect(reportTiming({ ...rebuilt, saved })).toEqual(saved);
    // Re-running the finished replay's command keeps it too: this command started after the replay did.
    expect(reportTiming({ ...rebuilt, commandStartedAt: at(8_999_000), saved })).toEqual(saved);
    // A saved figure of another replay under the same id (started after this one) is not this replay's.
    expect(reportTiming({ ...rebuilt, saved: { ...saved, startedAt: at(50_000) } })).toMatchObject({
      measuredOver: 'replay',
    });
  });

  it('the progress line counts from the same origin, so its rate ends at the report figure', () => {
    expect(rateOrigin(at(0), at(45_000))).toBe(base);
    expect(rateOrigin(at(3_000_000), at(45_000))).toBe(base + 45_000);
  });
});

describe('saved reports of an earlier release', () => {
  it('are refused with the command that rebuilds them', () => {
    const old: unknown = JSON.parse(JSON.stringify({ ...report, schemaVersion: 1 }));
    expect(() => parseBacktestReport(old, 'replays/replay-a/report.json')).toThrow(
      'replays/replay-a/report.json was written by an earlier release (report schema 1): rebuild it from its stored decisions with fraudflow report replay-a',
    );
  });
});
