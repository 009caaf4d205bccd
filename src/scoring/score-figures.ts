/**
 * Score-based figures, the ones a fraud team sets beside the model it runs today: ROC AUC, recall at a fixed
 * false-positive rate, log loss. Each takes optional row weights, so a legitimate row kept by sampling counts for
 * the rows sampled out with it and the figures stay those of the full traffic. Pure.
 */

type Weights = readonly number[] | undefined;
const weightOf = (weights: Weights, i: number) => weights?.[i] ?? 1;

/** Area under the ROC curve: the (weighted) probability a fraud outscores a legitimate transaction; ties half. */
export function rocAuc(scores: readonly number[], labels: readonly boolean[], weights?: Weights): number {
  const order = scores.map((s, i) => ({ s, y: labels[i]!, w: weightOf(weights, i) })).sort((a, b) => a.s - b.s);
  let legitBelow = 0;
  let pairs = 0;
  let fraudTotal = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    let fraudHere = 0;
    let legitHere = 0;
    for (; j < order.length && order[j]!.s === order[i]!.s; j++) {
      if (order[j]!.y) fraudHere += order[j]!.w;
      else legitHere += order[j]!.w;
    }
    pairs += fraudHere * (legitBelow + legitHere / 2);
    legitBelow += legitHere;
    fraudTotal += fraudHere;
    i = j;
  }
  return fraudTotal > 0 && legitBelow > 0 ? pairs / (fraudTotal * legitBelow) : 0.5;
}

/** Share of frauds scored above the score that flags `fpr` of (weighted) legitimate transactions. */
export function recallAtFalsePositiveRate(
  scores: readonly number[],
  labels: readonly boolean[],
  fpr: number,
  weights?: Weights,
): number {
  const legit = scores
    .map((s, i) => ({ s, w: weightOf(weights, i), fraud: labels[i] }))
    .filter((r) => !r.fraud)
    .sort((a, b) => b.s - a.s);
  const allowedFalsePositives = fpr * legit.reduce((sum, r) => sum + r.w, 0);
  let spent = 0;
  let cut = Infinity;
  for (const r of legit) {
    spent += r.w;
    if (spent > allowedFalsePositives + 1e-9) {
      cut = r.s;
      break;
    }
  }
  let caught = 0;
  let frauds = 0;
  scores.forEach((s, i) => {
    if (!labels[i]) return;
    frauds += weightOf(weights, i);
    if (s > cut) caught += weightOf(weights, i);
  });
  return frauds > 0 ? caught / frauds : 0;
}

/** Mean (weighted) negative log-likelihood of probabilities. */
export function logLoss(probabilities: readonly number[], labels: readonly boolean[], weights?: Weights): number {
  const eps = 1e-9;
  let total = 0;
  let weight = 0;
  probabilities.forEach((p, i) => {
    const w = weightOf(weights, i);
    total -= w * (labels[i] ? Math.log(Math.max(p, eps)) : Math.log(Math.max(1 - p, eps)));
    weight += w;
  });
  return weight > 0 ? total / weight : 0;
}

/**
 * The ranking figures a fraud team sets beside its own model, one function each (paired bootstraps take them one
 * at a time): ROC AUC and recall at 1% and 5% false-positive rate.
 */
export const rankingFigureFns = {
  auc: (scores: readonly number[], labels: readonly boolean[], weights?: Weights) => rocAuc(scores, labels, weights),
  recallAt1PctFpr: (scores: readonly number[], labels: readonly boolean[], weights?: Weights) =>
    recallAtFalsePositiveRate(scores, labels, 0.01, weights),
  recallAt5PctFpr: (scores: readonly number[], labels: readonly boolean[], weights?: Weights) =>
    recallAtFalsePositiveRate(scores, labels, 0.05, weights),
} as const;

export type RankingFigureName = keyof typeof rankingFigureFns;

/** Every ranking figure of `scores` against `labels` (weighted when weights are given). */
export function rankingFiguresOf(
  scores: readonly number[],
  labels: readonly boolean[],
  weights?: Weights,
): Record<RankingFigureName, number> {
  return {
    auc: rankingFigureFns.auc(scores, labels, weights),
    recallAt1PctFpr: rankingFigureFns.recallAt1PctFpr(scores, labels, weights),
    recallAt5PctFpr: rankingFigureFns.recallAt5PctFpr(scores, labels, weights),
  };
}

/**
 * The best F1 any single threshold gives: precision and recall of "score ≥ threshold" at its best cut, the figure
 * that reads a ranking as one yes/no decision.
 */
export function bestF1(scores: readonly number[], labels: readonly boolean[]): number {
  const frauds = labels.filter(Boolean).length;
  const order = scores.map((s, i) => ({ s, fraud: labels[i]! })).sort((a, b) => b.s - a.s);
  let best = 0;
  let caught = 0;
  order.forEach((o, k) => {
    if (o.fraud) caught++;
    // Only at the last of tied scores: a threshold cannot split rows with equal scores.
    if (k + 1 < order.length && order[k + 1]!.s === o.s) return;
    const f1 = (2 * caught) / (k + 1 + frauds);
    best = Math.max(best, f1);
  });
  return best;
}
