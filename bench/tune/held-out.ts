/**
 * Held-out figures of a policy fitted on every row against one fitted on every fraud and a share of legitimate
 * rows: the dataset's rows split by time, both policies scored on the same later rows through the same cached
 * embeddings, and the difference given with paired-bootstrap intervals. Within noise is what sampling must keep.
 */
import type { Config } from '../../src/config';
import { embedRows } from '../../src/models/embedding-cache';
import type { LabelledTransaction } from '../../src/models/training-set';
import { readLabelledTransactions } from '../../src/replay/labelled-rows';
import type { ReplayStore } from '../../src/replay/store';
import { policyProbability } from '../../src/scoring/held-out';
import { sampleLegitimate } from '../../src/scoring/legit-sampling';
import type { DifferenceInterval } from '../../src/scoring/paired-bootstrap';
import { pairedDifference } from '../../src/scoring/paired-bootstrap';
import { fitScoringPolicy } from '../../src/scoring/policy-fit';
import type { RankingFigureName } from '../../src/scoring/score-figures';
import { rankingFigureFns, rankingFiguresOf } from '../../src/scoring/score-figures';
import { defaultTuningLimits } from '../../src/scoring/tuning';
import { hostedThresholds } from '../../src/cli/tune';

type Figures = Record<RankingFigureName, number>;

export interface HeldOutComparison {
  heldOutFrom: string;
  heldOutRows: number;
  heldOutFrauds: number;
  legitSample: number;
  fittedRows: { before: number; after: number };
  fitSeconds: { before: number; after: number };
  before: Figures;
  after: Figures;
  difference: Record<keyof Figures, DifferenceInterval>;
}

export async function heldOutBeforeAfter(
  config: Config,
  store: ReplayStore,
  replayId: string,
  opts: { tuneShare: number; legitSample: number; everyRow: boolean; log: (l: string) => void },
): Promise<HeldOutComparison | undefined> {
  // Without every row embedded (a sampled synthetic history) there is no "every row" policy to compare with.
  if (!opts.everyRow) return undefined;
  const rows = readLabelledTransactions(store, replayId);
  const cut = Math.floor(rows.length * opts.tuneShare);
  const [fitRows, heldOut] = [rows.slice(0, cut), rows.slice(cut)];
  const embeddings = await embedRows(config, { model: config.localModel.model }, store.dir(replayId), rows, opts.log);
  const byId = new Map(rows.map((r, i) => [r.event.transactionId, embeddings[i]!]));
  const sampled = sampleLegitimate(fitRows, { share: opts.legitSample, seed: 1 });
  const before = await fitAndScore(config, fitRows, undefined, heldOut, byId, opts.log);
  const after = await fitAndScore(config, sampled.rows, sampled.weights, heldOut, byId, opts.log);
  const labels = heldOut.map((r) => r.isFraud);
  const scores = { champion: before.probabilities, challenger: after.probabilities };
  return {
    heldOutFrom: new Date(heldOut[0]!.at).toISOString(),
    heldOutRows: heldOut.length,
    heldOutFrauds: labels.filter(Boolean).length,
    legitSample: opts.legitSample,
    fittedRows: { before: fitRows.length, after: sampled.rows.length },
    fitSeconds: { before: before.seconds, after: after.seconds },
    before: rankingFiguresOf(before.probabilities, labels),
    after: rankingFiguresOf(after.probabilities, labels),
    difference: Object.fromEntries(
      Object.entries(rankingFigureFns).map(([k, f]) => [k, pairedDifference(labels, scores, (p, y) => f(p, y))]),
    ) as HeldOutComparison['difference'],
  };
}

async function fitAndScore(
  config: Config,
  rows: LabelledTransaction[],
  weights: number[] | undefined,
  heldOut: LabelledTransaction[],
  embeddingOf: Map<string, number[]>,
  log: (l: string) => void,
): Promise<{ probabilities: number[]; seconds: number }> {
  const started = Date.now();
  const policy = await fitScoringPolicy(
    {
      embedder: { model: config.localModel.model },
      rows,
      embeddings: rows.map((r) => embeddingOf.get(r.event.transactionId)!),
      weights,
      rules: config.policy.rules,
      hostedThresholds: hostedThresholds(config),
      measureHosted: () => Promise.resolve(undefined),
    },
    {
      name: 'held-out',
      limits: defaultTuningLimits,
      probeL2: 30,
      folds: 5,
      command: 'bench:tune',
      provenance: {},
      log,
    },
  );
  const seconds = (Date.now() - started) / 1000;
  const probabilities = heldOut.map((r) =>
    policyProbability(policy, { ...r, embedding: embeddingOf.get(r.event.transactionId)! }),
  );
  return { probabilities, seconds };
}
