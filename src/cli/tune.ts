/**
 * `fraudflow tune <replayId>`: learn a scoring policy from a labelled replay. It keeps every fraud and, with
 * `--legit-sample`, a seeded time-stratified share of legitimate rows (weighted back), embeds the kept rows with
 * the local model (cached beside the replay), fits the policy (src/scoring/policy-fit.ts), and writes a versioned
 * policy file, printing how long each part took. The replay's rows are the tuning slice: measure the policy on a
 * later period (`replay --score-from`), never on these rows.
 */
import path from 'node:path';
import type { Config } from '../config';
import { embedRows } from '../models/embedding-cache';
import type { EmbeddingThroughput } from '../models/embedding-cache';
import { measureHostedTier } from '../models/hosted-sample';
import type { LabelledTransaction } from '../models/training-set';
import { stepProgress } from '../observability/step-progress';
import { readLabelledTransactions } from '../replay/labelled-rows';
import { ReplayStore } from '../replay/store';
import { sampleLegitimate } from '../scoring/legit-sampling';
import type { Embedder, PolicyFitInput } from '../scoring/policy-fit';
import { fitScoringPolicy } from '../scoring/policy-fit';
import { writePolicyFile } from '../scoring/policy-file';
import type { ScoringPolicyFile } from '../scoring/policy-file';
import type { HostedRates, TuningLimits } from '../scoring/tuning';

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
  /** Share of legitimate rows kept (every fraud is kept); 1 keeps every row. @default 1 */
  legitSample?: number;
  /** Seed of the legitimate sample. @default 1 */
  sampleSeed?: number;
  /** The question a fine-tuned model answers, embedded after each text (`fraud:`); none for a base model. */
  answerCue?: string;
  embedding?: Partial<EmbeddingThroughput>;
  log?: (line: string) => void;
}

/** Wall time of each part of a tune, in seconds: what a user waited for. */
export interface TuneTimings {
  embedding: number;
  fitting: number;
  hostedSample: number;
  total: number;
  rowsEmbedded: number;
}

/** The rows to fit on: all of them, or every fraud and a weighted sample of legitimate rows. */
export function tuningSample(
  rows: LabelledTransaction[],
  share = 1,
  seed = 1,
): { rows: LabelledTransaction[]; weights?: number[] } {
  if (share >= 1) return { rows };
  return sampleLegitimate(rows, { share, seed });
}

export async function runTuneCommand(
  config: Config,
  opts: TuneOptions,
): Promise<ScoringPolicyFile & { timings: TuneTimings }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const started = Date.now();
  const store = new ReplayStore(config.replayDir);
  const all = readLabelledTransactions(store, opts.replayId);
  const { rows, weights } = tuningSample(all, opts.legitSample, opts.sampleSeed);
  const frauds = all.filter((r) => r.isFraud).length;
  log(
    `tuning on replay ${opts.replayId}: ${all.length} labelled rows (${frauds} fraud), ${new Date(all[0]!.at).toISOString()} – ${new Date(all.at(-1)!.at).toISOString()}`,
  );
  if (weights)
    log(
      `legitimate sample ${opts.legitSample}: fitting on ${rows.length} rows (every fraud), weighted back to ${all.length}`,
    );
  const embedder: Embedder = { model: config.localModel.model, answerCue: opts.answerCue };
  const embeddings = await embedRows(config, embedder, store.dir(opts.replayId), rows, log, opts.embedding);
  const embedded = Date.now();
  let hostedSeconds = 0;
  const measureHosted = async (candidates: LabelledTransaction[]): Promise<HostedRates | undefined> => {
    const t = Date.now();
    const thresholds = hostedThresholds(config);
    const rates = await measureHostedTier(config, candidates, opts.hostedSample, thresholds, log);
    hostedSeconds = (Date.now() - t) / 1000;
    if (rates) log(hostedRatesLine(rates));
    return rates;
  };
  const policy = await fitScoringPolicy(
    {
      embedder,
      rows,
      embeddings,
      weights,
      rules: config.policy.rules,
      hostedThresholds: hostedThresholds(config),
      measureHosted,
    },
    {
      name: path.basename(opts.out, '.json'),
      limits: opts.limits,
      probeL2: opts.probeL2,
      folds: opts.folds,
      command: tuneCommandLine(opts),
      provenance: { replayId: opts.replayId, ...(weights ? { legitSample: opts.legitSample } : {}) },
      log,
      progress: probeProgress(opts.folds, log),
    },
  );
  const written = writePolicyFile(opts.out, policy);
  const total = (Date.now() - started) / 1000;
  const timings: TuneTimings = {
    embedding: (embedded - started) / 1000,
    fitting: total - (embedded - started) / 1000 - hostedSeconds,
    hostedSample: hostedSeconds,
    total,
    rowsEmbedded: rows.length,
  };
  log(
    `policy ${written.hash} written to ${opts.out} in ${total.toFixed(1)} s (embedding ${timings.embedding.toFixed(1)} s, fitting ${timings.fitting.toFixed(1)} s, hosted sample ${timings.hostedSample.toFixed(1)} s)`,
  );
  return { ...written.policy, timings };
}

/** Progress of the probe's fits: folds and the final fit, a line at least every 30 s. */
function probeProgress(folds: number, log: (l: string) => void) {
  const progress = stepProgress('fitting the probe', folds + 1, { log, tty: false, everyMs: 0 });
  return (done: number) => {
    progress.update(done);
    if (done === folds + 1) progress.finish();
  };
}

export function hostedThresholds(config: Config): PolicyFitInput['hostedThresholds'] {
  return { reviewAt: config.policy.hostedReviewAt, declineAt: config.policy.hostedDeclineAt };
}

function hostedRatesLine(hosted: HostedRates): string {
  const r = (v: number) => v.toFixed(2);
  return `hosted tier: flags ${r(hosted.fraud.flag)} of frauds, ${r(hosted.legit.flag)} of legitimate (declines ${r(hosted.fraud.decline)} / ${r(hosted.legit.decline)})`;
}

function tuneCommandLine(opts: TuneOptions): string {
  const sample = opts.legitSample !== undefined && opts.legitSample < 1 ? ` --legit-sample ${opts.legitSample}` : '';
  return `fraudflow tune ${opts.replayId} --max-escalation ${opts.limits.maxEscalation} --max-false-positive-rate ${opts.limits.maxFalsePositiveRate}${sample}`;
}
