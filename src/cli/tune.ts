/**
 * `fraudflow tune <replayId>`: learn a scoring policy from a labelled replay. It embeds every replayed transaction
 * with the local model (cached beside the replay), fits the probe and the calibration with out-of-fold
 * predictions, measures the hosted tier on a labelled sample of escalation candidates, picks the operating point
 * that meets the limits with the best recall, and writes a versioned policy file. The replay's rows are the
 * tuning slice: measure the policy on a later period (`replay --score-from`), never on these rows.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import OpenAI from 'openai';
import { z } from 'zod';
import type { Config } from '../config';
import { jsonOrUndefined } from '../schemas/json';
import { occurredAtMs } from '../features/card-history';
import { embedFirstPass, embeddedText } from '../models/first-pass';
import type { LabelledTransaction } from '../models/training-set';
import { ReplayStore } from '../replay/store';
import type { ReplayChunk } from '../replay/contracts';
import { createModelClients } from '../models/clients';
import { generateAssessment } from '../models/assessment';
import { calibrationVector } from '../scoring/calibration';
import { rulesFloor } from '../scoring/decide';
import { fitLogistic, predictLogit } from '../scoring/logistic';
import type { LogisticModel } from '../scoring/logistic';
import { writePolicyFile } from '../scoring/policy-file';
import type { ScoringPolicyFile } from '../scoring/policy-file';
import { buildScoringMessages } from '../scoring/prompt';
import { evaluateRules, hasEffect } from '../scoring/rules';
import type { HostedRates, OperatingPoint, TunedOperatingPoint, TuningLimits, TuningRow } from '../scoring/tuning';
import {
  chooseOperatingPoint,
  logLoss,
  outOfFoldLogits,
  recallAtFalsePositiveRate,
  rocAuc,
  sigmoid,
} from '../scoring/tuning';

/** One line of the embedding cache: a row's id and the local model's embedding of it. */
const CachedEmbedding = z.object({ id: z.string(), e: z.array(z.number()) });

export interface TuneOptions {
  replayId: string;
  limits: TuningLimits;
  /** Where the policy is written. */
  out: string;
  /** Escalation candidates sent to the hosted tier to measure it (half fraud, half legitimate at most). */
  hostedSample: number;
  /** L2 penalty of the embedding probe. */
  probeL2: number;
  folds: number;
  /** The question a fine-tuned model answers, embedded after each text (`fraud:`); none for a base model. */
  answerCue?: string;
  log?: (line: string) => void;
}

/** A replay's labelled rows, oldest first. */
export function readLabelledTransactions(store: ReplayStore, replayId: string): LabelledTransaction[] {
  const manifest = store.readManifest(replayId);
  if (!manifest) throw new Error(`replay ${replayId} not found under ${store.root}: run fraudflow replay first`);
  const rows: LabelledTransaction[] = [];
  for (let n = 0; n < manifest.chunksTotal; n++) {
    const chunk: ReplayChunk = store.readChunk(replayId, n);
    for (const row of chunk.rows) {
      if (!row.label) continue;
      rows.push({
        event: row.event,
        features: row.features,
        isFraud: row.label.isFraud,
        at: occurredAtMs(row.event.occurredAt),
      });
    }
  }
  rows.sort((a, b) => a.at - b.at);
  const frauds = rows.filter((r) => r.isFraud).length;
  if (frauds < 10 || rows.length - frauds < 100) {
    throw new Error(
      `replay ${replayId} has ${frauds} labelled frauds and ${rows.length - frauds} legitimate rows; tuning needs ≥ 10 and ≥ 100`,
    );
  }
  return rows;
}

/** What a first pass embeds with: the local model, and the answer cue its policy puts after the text, if any. */
export interface Embedder {
  model: string;
  answerCue?: string;
}

/** The file an embedder's embeddings are cached in, inside `dir` (a replay's folder, a training run's). */
function embeddingCacheFile(dir: string, embedder: Embedder): string {
  const cue = embedder.answerCue
    ? `-cue-${createHash('sha256').update(embedder.answerCue).digest('hex').slice(0, 8)}`
    : '';
  return path.join(dir, `embeddings-${embedder.model.replace(/[^A-Za-z0-9._-]/g, '_')}${cue}.jsonl`);
}

/** Embeddings of every row through a local model, cached in `dir` (a re-run costs nothing). */
export async function embedRows(
  config: Config,
  embedder: Embedder,
  dir: string,
  rows: LabelledTransaction[],
  log: (l: string) => void,
): Promise<number[][]> {
  const { model, answerCue } = embedder;
  const cacheFile = embeddingCacheFile(dir, embedder);
  const cached = new Map<string, number[]>();
  if (fs.existsSync(cacheFile)) {
    for (const line of fs.readFileSync(cacheFile, 'utf8').split('\n')) {
      // A line cut short by a killed run is skipped: its row is embedded again.
      const entry = line ? CachedEmbedding.safeParse(jsonOrUndefined(line)) : undefined;
      if (entry?.success) cached.set(entry.data.id, entry.data.e);
    }
  }
  const client = new OpenAI({
    baseURL: config.localModel.baseURL,
    apiKey: config.localModel.apiKey,
    maxRetries: 3,
    timeout: 60_000,
  });
  const missing = rows.filter((r) => !cached.has(r.event.transactionId));
  const what = answerCue ? `${model} (answer cue "${answerCue}")` : model;
  log(`embedding ${missing.length} of ${rows.length} rows with ${what} (${rows.length - missing.length} cached)`);
  const bar =
    process.stdout.isTTY && missing.length > 0
      ? new cliProgress.SingleBar({ format: 'embed [{bar}] {value}/{total} | ETA {eta_formatted}' })
      : undefined;
  bar?.start(missing.length, 0);
  const out = fs.openSync(cacheFile, 'a');
  let next = 0;
  const worker = async () => {
    while (next < missing.length) {
      const row = missing[next++]!;
      const { embedding } = await embedFirstPass(client, model, embeddedText(row.event, row.features, answerCue));
      cached.set(row.event.transactionId, embedding);
      fs.writeSync(out, `${JSON.stringify({ id: row.event.transactionId, e: embedding })}\n`);
      bar?.increment();
    }
  };
  try {
    await Promise.all(Array.from({ length: config.localModel.concurrency }, worker));
  } finally {
    bar?.stop();
    fs.closeSync(out);
  }
  return rows.map((r) => cached.get(r.event.transactionId)!);
}

/** The hosted tier's answers on a labelled sample of escalation candidates, as rates per class. */
async function measureHostedTier(
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
    }
  };
  await Promise.all(Array.from({ length: config.hosted.concurrency }, worker));
  const rate = (k: number, n: number) => (n ? k / n : 0);
  return {
    fraud: { decline: rate(counts.fraud.decline, counts.fraud.n), flag: rate(counts.fraud.flag, counts.fraud.n) },
    legit: { decline: rate(counts.legit.decline, counts.legit.n), flag: rate(counts.legit.flag, counts.legit.n) },
    sampled: { fraud: counts.fraud.n, legit: counts.legit.n },
  };
}

function evaluation(scores: number[], labels: boolean[]) {
  return {
    auc: round(rocAuc(scores, labels)),
    logLoss: round(logLoss(scores, labels)),
    recallAt1PctFpr: round(recallAtFalsePositiveRate(scores, labels, 0.01)),
  };
}
const round = (v: number, digits = 4) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Out-of-fold calibrated probabilities: each row scored by a calibration fitted without its fold. */
function outOfFoldProbabilities(x: number[][], y: number[], folds: number): number[] {
  return outOfFoldLogits(x, y, folds, (fx, fy) => fitLogistic(fx, fy, { l2: 1 })).map(sigmoid);
}

export async function runTuneCommand(config: Config, opts: TuneOptions): Promise<ScoringPolicyFile> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const store = new ReplayStore(config.replayDir);
  const rows = readLabelledTransactions(store, opts.replayId);
  const embedder: Embedder = { model: config.localModel.model, answerCue: opts.answerCue };
  log(
    `tuning on replay ${opts.replayId}: ${rows.length} labelled rows (${rows.filter((r) => r.isFraud).length} fraud), ${new Date(rows[0]!.at).toISOString()} – ${new Date(rows.at(-1)!.at).toISOString()}`,
  );
  const embeddings = await embedRows(config, embedder, store.dir(opts.replayId), rows, log);
  const policy = await fitScoringPolicy(config, embedder, rows, embeddings, {
    ...opts,
    name: path.basename(opts.out, '.json'),
    command: `fraudflow tune ${opts.replayId} --max-escalation ${opts.limits.maxEscalation} --max-false-positive-rate ${opts.limits.maxFalsePositiveRate}`,
    provenance: { replayId: opts.replayId },
  });
  const written = writePolicyFile(opts.out, policy);
  log(`policy ${written.hash} written to ${opts.out}`);
  return written.policy;
}

export interface FitOptions extends Pick<TuneOptions, 'limits' | 'hostedSample' | 'probeL2' | 'folds'> {
  name: string;
  /** The hosted tier's rates measured before: skips measuring it again. */
  hostedRates?: HostedRates;
  command: string;
  provenance: Record<string, unknown>;
  /** The probe is given, not fitted: a fine-tuned model's own answer (src/models/answer-head.ts). */
  fixedProbe?: LogisticModel;
  log?: (line: string) => void;
}

/**
 * A scoring policy for `embedder` from labelled rows and their embeddings by it: the probe and the calibration
 * fitted out of fold, the hosted tier measured on a sample, the operating point chosen within the limits.
 */
export async function fitScoringPolicy(
  config: Config,
  embedder: Embedder,
  rows: LabelledTransaction[],
  embeddings: number[][],
  opts: FitOptions,
): Promise<ScoringPolicyFile> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const labels = rows.map((r) => r.isFraud);
  const y = labels.map((b) => (b ? 1 : 0));
  const { probe, probeOof } = fitEmbeddingProbe(embeddings, y, opts, log);
  const calibrations = fitCalibrations(rows, labels, y, probeOof, opts.folds, log);
  const tuningRows = tuningRowsFor(config, rows, calibrations.oofWithModel);
  const candidates = escalationCandidates(rows, tuningRows, calibrations.oofWithModel);
  const hostedThresholds = { reviewAt: config.policy.hostedReviewAt, declineAt: config.policy.hostedDeclineAt };
  const hosted = await hostedRatesFor(config, candidates, hostedThresholds, opts, log);
  const tuned = chooseOperatingPoint(tuningRows, opts.limits, hosted);
  logOperatingPoint(tuned, log);
  return {
    schemaVersion: 1,
    name: opts.name,
    localModel: embedder.model,
    firstPass: { kind: 'embedding-probe', probe, ...(embedder.answerCue ? { answerCue: embedder.answerCue } : {}) },
    calibration: { withModel: true, model: calibrations.withModel },
    thresholds: roundedThresholds(tuned.point, hostedThresholds),
    provenance: policyProvenance(opts, rows, y, { calibrations, hosted, tuned }),
  };
}

/** The probe from embeddings to fraud log-odds, fitted on every row, and its out-of-fold logits. */
function fitEmbeddingProbe(
  embeddings: number[][],
  y: number[],
  opts: Pick<FitOptions, 'probeL2' | 'folds' | 'fixedProbe'>,
  log: (l: string) => void,
): { probe: LogisticModel; probeOof: number[] } {
  if (opts.fixedProbe) {
    log("the first pass is the model's own answer: no probe fitted");
    const fixed = opts.fixedProbe;
    return { probe: fixed, probeOof: embeddings.map((e) => predictLogit(fixed, e)) };
  }
  log(`fitting the embedding probe (${embeddings[0]?.length} dimensions, ${opts.folds}-fold out of fold)`);
  const fitProbe = (x: number[][], t: number[]) => fitLogistic(x, t, { l2: opts.probeL2 });
  const probeOof = outOfFoldLogits(embeddings, y, opts.folds, fitProbe);
  const probe = fitProbe(embeddings, y);
  return { probe, probeOof };
}

/**
 * The calibrations from features alone and from features plus the probe's out-of-fold logit, the latter's
 * out-of-fold probabilities, and the ablation comparing them with the model alone.
 */
function fitCalibrations(
  rows: LabelledTransaction[],
  labels: boolean[],
  y: number[],
  probeOof: number[],
  folds: number,
  log: (l: string) => void,
) {
  const featureRows = rows.map((r) => calibrationVector(r.event, r.features));
  const withModelRows = featureRows.map((v, i) => [...v, probeOof[i]!]);
  const featuresOnly: LogisticModel = fitLogistic(featureRows, y, { l2: 1 });
  const withModel: LogisticModel = fitLogistic(withModelRows, y, { l2: 1 });
  const oofFeatures = outOfFoldProbabilities(featureRows, y, folds);
  const oofWithModel = outOfFoldProbabilities(withModelRows, y, folds);
  const ablation = {
    modelAlone: evaluation(probeOof.map(sigmoid), labels),
    featuresOnly: evaluation(oofFeatures, labels),
    featuresPlusModel: evaluation(oofWithModel, labels),
  };
  log(
    `ablation (out of fold): model alone AUC ${ablation.modelAlone.auc}, features ${ablation.featuresOnly.auc}, features + model ${ablation.featuresPlusModel.auc}`,
  );
  return { featuresOnly, withModel, oofWithModel, ablation };
}

/** Each row as tuning sees it: the rules' verdict beside its out-of-fold calibrated probability. */
function tuningRowsFor(config: Config, rows: LabelledTransaction[], probabilities: number[]): TuningRow[] {
  const ruled = rows.map((r) => evaluateRules(r.event, config.policy.rules, r.features));
  return rows.map((r, i) => ({
    isFraud: r.isFraud,
    probability: probabilities[i]!,
    ruleFloor: rulesFloor(ruled[i]!),
    ruleEscalates: hasEffect(ruled[i]!, 'escalate'),
  }));
}

/** Escalation candidates: rows the rules do not decline, at or above the 70th percentile of first-pass scores. */
function escalationCandidates(
  rows: LabelledTransaction[],
  tuningRows: TuningRow[],
  probabilities: number[],
): LabelledTransaction[] {
  const sorted = [...probabilities].sort((a, b) => a - b);
  const floor = sorted[Math.floor(0.7 * sorted.length)] ?? 0;
  return rows.filter((_, i) => tuningRows[i]!.ruleFloor !== 'decline' && probabilities[i]! >= floor);
}

/** The hosted tier's rates as given in the options, else measured on the candidates; undefined when not measured. */
async function hostedRatesFor(
  config: Config,
  candidates: LabelledTransaction[],
  thresholds: { reviewAt: number; declineAt: number },
  opts: Pick<FitOptions, 'hostedRates' | 'hostedSample'>,
  log: (l: string) => void,
): Promise<HostedRates | undefined> {
  const hosted = opts.hostedRates ?? (await measureHostedTier(config, candidates, opts.hostedSample, thresholds, log));
  if (hosted)
    log(
      `hosted tier: flags ${round(hosted.fraud.flag, 2)} of frauds, ${round(hosted.legit.flag, 2)} of legitimate (declines ${round(hosted.fraud.decline, 2)} / ${round(hosted.legit.decline, 2)})`,
    );
  return hosted;
}

function logOperatingPoint(tuned: TunedOperatingPoint, log: (l: string) => void): void {
  const { point, figures } = tuned;
  log(
    `operating point: review ≥ ${round(point.reviewAt)}, decline ≥ ${round(point.declineAt)}, escalation ${point.escalation ? `[${round(point.escalation.low)}, ${round(point.escalation.high)}], hosted ${point.hostedMode ?? 'decides'}` : 'none'} (${tuned.feasible} points met the limits)`,
  );
  log(
    `expected on the tuning slice: recall ${round(figures.recall, 3)}, decline FPR ${round(figures.falsePositiveRate, 4)}, review-or-decline FPR ${round(figures.reviewOrDeclineFalsePositiveRate, 4)}, decline precision ${round(figures.declinePrecision, 3)}, escalated ${round(figures.escalationShare, 3)}`,
  );
}

function roundedThresholds(
  point: OperatingPoint,
  hostedThresholds: { reviewAt: number; declineAt: number },
): ScoringPolicyFile['thresholds'] {
  return {
    reviewAt: round(point.reviewAt, 6),
    declineAt: round(point.declineAt, 6),
    escalation: point.escalation
      ? { low: round(point.escalation.low, 6), high: round(point.escalation.high, 6) }
      : null,
    minConfidence: 0,
    hosted: { ...hostedThresholds, mode: point.hostedMode ?? 'decides' },
  };
}

/** What the policy was fitted on and how: the command, rows, limits, measured rates, expected figures and curve. */
function policyProvenance(
  opts: FitOptions,
  rows: LabelledTransaction[],
  y: number[],
  fitted: {
    calibrations: ReturnType<typeof fitCalibrations>;
    hosted: HostedRates | undefined;
    tuned: TunedOperatingPoint;
  },
): Record<string, unknown> {
  return {
    command: opts.command,
    ...opts.provenance,
    rows: rows.length,
    frauds: y.filter(Boolean).length,
    tunedOn: { from: new Date(rows[0]!.at).toISOString(), until: new Date(rows.at(-1)!.at + 1).toISOString() },
    limits: opts.limits,
    hostedRates: fitted.hosted ?? null,
    expected: fitted.tuned.figures,
    ablation: fitted.calibrations.ablation,
    featuresOnlyCalibration: fitted.calibrations.featuresOnly,
    curve: fitted.tuned.curve.map((c) => ({
      declineAt: round(c.declineAt, 6),
      recall: round(c.recall, 4),
      falsePositiveRate: round(c.falsePositiveRate, 5),
      reviewOrDeclineFalsePositiveRate: round(c.reviewOrDeclineFalsePositiveRate, 5),
    })),
  };
}
