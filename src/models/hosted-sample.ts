/**
 * Measuring the hosted tier for tuning: a labelled sample of escalation candidates (half fraud, half legitimate at
 * most, evenly spread over time) sent through exactly the request scoring makes, and its answers counted per class
 * at the hosted cut points. The tuner escalates only when these rates show lift (src/scoring/hosted-lift.ts).
 */
import type { Config } from '../config';
import { stepProgress } from '../observability/step-progress';
import { buildScoringMessages } from '../scoring/prompt';
import type { HostedRates } from '../scoring/tuning';
import { generateAssessment } from './assessment';
import { createModelClients } from './clients';
import type { LabelledTransaction } from './training-set';

/** The hosted tier's answers on a labelled sample of escalation candidates, as rates per class. */
export async function measureHostedTier(
  config: Config,
  candidates: LabelledTransaction[],
  sample: number,
  thresholds: { reviewAt: number; declineAt: number },
  log: (l: string) => void,
): Promise<HostedRates | undefined> {
  const provider = config.hosted.providers[0];
  if (!provider || sample <= 0 || !config.policy.escalationEnabled) return undefined;
  const apiKey = config.hosted.apiKeys.get(provider.name);
  if (!apiKey) {
    log(`hosted tier not measured: ${provider.apiKeyEnv} is not set`);
    return undefined;
  }
  const target = createModelClients(config).hosted.get(provider.name)!;
  // Evenly spread over time within each class, half fraud and half legitimate at most.
  const pick = (rows: LabelledTransaction[], n: number) =>
    rows.filter((_, i) => i % Math.max(1, Math.floor(rows.length / n)) === 0).slice(0, n);
  const frauds = pick(
    candidates.filter((r) => r.isFraud),
    Math.ceil(sample / 2),
  );
  const legit = pick(
    candidates.filter((r) => !r.isFraud),
    sample - frauds.length,
  );
  log(
    `measuring hosted ${provider.name} on ${frauds.length} fraud and ${legit.length} legitimate escalation candidates`,
  );
  const counts = { fraud: { decline: 0, flag: 0, n: 0 }, legit: { decline: 0, flag: 0, n: 0 } };
  let next = 0;
  const sampled = [...frauds, ...legit];
  const worker = async () => {
    while (next < sampled.length) {
      const row = sampled[next++]!;
      const messages = buildScoringMessages(row.event, 'hosted', config.hosted.redactedFields, row.features);
      const context = { provider: provider.name, model: provider.model, transactionId: row.event.transactionId };
      // An unusable hosted answer sends the transaction to review in production: count it as a flag.
      const score = await generateAssessment(target, messages, context).then(
        (g) => g.assessment.riskScore,
        () => thresholds.reviewAt,
      );
      const c = row.isFraud ? counts.fraud : counts.legit;
      c.n++;
      if (score >= thresholds.declineAt) c.decline++;
      if (score >= thresholds.reviewAt) c.flag++;
      progress.update(counts.fraud.n + counts.legit.n);
    }
  };
  const progress = stepProgress('hosted sample', sampled.length, { log });
  try {
    await Promise.all(Array.from({ length: config.hosted.concurrency }, worker));
  } finally {
    progress.finish();
  }
  const rate = (k: number, n: number) => (n ? k / n : 0);
  return {
    fraud: { decline: rate(counts.fraud.decline, counts.fraud.n), flag: rate(counts.fraud.flag, counts.fraud.n) },
    legit: { decline: rate(counts.legit.decline, counts.legit.n), flag: rate(counts.legit.flag, counts.legit.n) },
    sampled: { fraud: counts.fraud.n, legit: counts.legit.n },
  };
}
