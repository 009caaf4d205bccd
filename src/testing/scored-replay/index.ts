/**
 * A scored replay without a model, for tests and benchmarks of `rules test`: synthetic transactions with their
 * point-in-time features, decided step by step as the scoring workflow decides a replay row (the built-in rules,
 * a first pass, escalation when ambiguous or a rule asks, the decision policy), with a stand-in first-pass and
 * hosted probability that leans on the label so the figures mean something.
 */
import type { ScoringPolicy } from '../../config';
import { ReplayCardHistory } from '../../features/replay-history';
import { createTransactionGenerator, mulberry32 } from '../../generator/synthetic';
import type { ScoredRow } from '../../replay/quality';
import type { ReplayStore } from '../../replay/store';
import type { Decision, ModelCall } from '../../schemas/decision';
import { decisionVersion } from '../../schemas/versions';
import { applyDecisionPolicy, isAmbiguous } from '../../scoring/decide';
import type { ModelAnswer } from '../../scoring/decide';
import { evaluateRules, hasEffect } from '../../scoring/rules';

export function scoredReplayRows(opts: {
  rows: number;
  seed: number;
  policy: ScoringPolicy;
  replayId: string;
}): ScoredRow[] {
  const generator = createTransactionGenerator({ seed: opts.seed, fraudShare: 0.05 });
  const history = new ReplayCardHistory();
  const random = mulberry32(opts.seed);
  return Array.from({ length: opts.rows }, (_, i) => {
    const event = generator.next();
    const features = history.featuresFor(event);
    const isFraud = event.label?.isFraud ?? false;
    // Fraud mostly scores high and legitimate traffic low, with an overlap the thresholds have to trade off.
    const lean = () => (isFraud ? 0.25 + random() * 0.75 : random() ** 3 * 0.6);
    const decision = decide(event, features, opts.policy, lean, `${opts.replayId}-${i}`);
    return { line: i + 1, event, decision, label: { isFraud } };
  });
}

/** Writes rows as a replay's prepared chunk and results, so `rules test` reads them as it reads any replay. */
export function writeScoredReplay(store: ReplayStore, replayId: string, rows: ScoredRow[]): void {
  store.writeManifest(replayId, {
    uri: 'synthetic',
    rowsTotal: rows.length,
    chunksTotal: 1,
    invalidRows: 0,
    source: 'synthetic',
  });
  store.writeChunk(replayId, 0, {
    uri: 'synthetic',
    rows: rows.map((r) => ({ line: r.line, event: r.event, features: r.decision.features!, label: r.label })),
  });
  store.writeResults(
    replayId,
    0,
    rows.map(({ line, decision, label }) => ({ line, decision, label })),
  );
}

function decide(
  event: ScoredRow['event'],
  features: NonNullable<Decision['features']>,
  policy: ScoringPolicy,
  lean: () => number,
  id: string,
): Decision {
  const ruleHits = evaluateRules(event, policy.rules, features);
  const modelCalls: ModelCall[] = [];
  let local: ModelAnswer | undefined;
  let hosted: ModelAnswer | undefined;
  const settledPath = hasEffect(ruleHits, 'decline') ? ('rules' as const) : undefined;
  if (!settledPath) {
    local = answer('local', lean(), modelCalls);
    if (policy.escalationEnabled && (isAmbiguous(local.assessment, policy) || hasEffect(ruleHits, 'escalate'))) {
      hosted = answer('hosted', lean(), modelCalls);
    }
  }
  const verdict = applyDecisionPolicy({ policy, ruleHits, local, hosted, settledPath });
  return {
    schemaVersion: decisionVersion,
    transactionId: event.transactionId,
    decision: verdict.outcome,
    riskScore: verdict.riskScore,
    reasons: verdict.reasons,
    path: verdict.path,
    ruleHits,
    features,
    modelCalls,
    decidedAt: new Date(event.occurredAt).toISOString(),
    workflowId: id,
    runId: id,
    source: { kind: 'replay', replayId: 'synthetic', uri: 'synthetic' },
    policyHash: 'synthetic',
    promptVersion: 'synthetic',
  };
}

function answer(tier: 'local' | 'hosted', riskScore: number, calls: ModelCall[]): ModelAnswer {
  const provider = tier === 'local' ? 'local' : 'hosted-standin';
  calls.push({
    provider,
    model: provider,
    tier,
    outcome: 'ok',
    latencyMs: 1,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    riskScore,
    confidence: 0.9,
  });
  return { assessment: { riskScore, confidence: 0.9, reasons: [] }, call: { provider } };
}
