/**
 * `npm run bench:first-pass -- <replayId> [--tune-share 0.7]`: fraudflow's first pass beside the gradient-boosted
 * anchor on a prepared labelled replay (`fraudflow replay <file> --prepare-only`), split by time, without the
 * pipeline: the policy is fitted on the earlier rows exactly as `fraudflow tune` fits it, and the later rows are
 * scored as the first-pass activity scores them (the probe over the local model's embedding, cached beside the
 * replay, then the calibration). The anchor is trained on the same earlier rows. Fast, and independent of how
 * busy the machine is; `bench:quality` measures the same through the real pipeline, decisions and all.
 */
import { parseArgs } from 'node:util';
import { hostedThresholds } from '../../src/cli/tune';
import { loadConfig } from '../../src/config';
import { embedRows } from '../../src/models/embedding-cache';
import { readLabelledTransactions } from '../../src/replay/labelled-rows';
import { ReplayStore } from '../../src/replay/store';
import { policyProbability } from '../../src/scoring/held-out';
import { fitScoringPolicy } from '../../src/scoring/policy-fit';
import { defaultTuningLimits } from '../../src/scoring/tuning';
import { stackUp } from '../../src/stack';
import { ensureAnchorPython, scoreWithAnchor, sideBySide } from './anchor';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'tune-share': { type: 'string', default: '0.7' } },
  });
  const replayId = positionals[0];
  const share = Number(values['tune-share']);
  if (!replayId || !(share > 0 && share < 1)) throw new Error('usage: bench:first-pass -- <replayId> [--tune-share S]');
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', METRICS_PORT: '0', SDK_METRICS_PORT: '0' });
  await stackUp(config, { log: () => undefined });
  const store = new ReplayStore(config.replayDir);
  const rows = readLabelledTransactions(store, replayId);
  const embedder = { model: config.localModel.model };
  const embeddings = await embedRows(config, embedder, store.dir(replayId), rows, console.log);
  const cut = Math.floor(rows.length * share);
  const [tuning, heldOut] = [rows.slice(0, cut), rows.slice(cut)];
  const policy = await fitScoringPolicy(
    {
      embedder,
      rows: tuning,
      embeddings: embeddings.slice(0, cut),
      rules: config.policy.rules,
      hostedThresholds: hostedThresholds(config),
      measureHosted: () => Promise.resolve(undefined),
    },
    {
      name: 'first-pass',
      limits: defaultTuningLimits,
      probeL2: 30,
      folds: 5,
      command: '',
      provenance: {},
      log: console.log,
    },
  );
  const fraudflow = heldOut.map((r, i) => policyProbability(policy, { ...r, embedding: embeddings[cut + i]! }));
  const anchor = scoreWithAnchor(
    ensureAnchorPython(config.cacheDir, console.log),
    {
      rows: tuning,
      labels: tuning.map((r) => r.isFraud),
    },
    heldOut,
  );
  const result = sideBySide(
    heldOut.map((r) => r.isFraud),
    { anchor: anchor.scores, fraudflow },
    [],
  );
  console.log(
    `replay ${replayId}: tuned on ${tuning.length} rows (${tuning.filter((r) => r.isFraud).length} frauds), held out ${result.rows} (${result.frauds} frauds)`,
  );
  console.log(
    `anchor: LightGBM ${anchor.chosen.lightgbm}, ${anchor.chosen.trees} trees of ${anchor.chosen.leaves} leaves`,
  );
  console.log(
    `fraudflow: calibration reads ${policy.calibration.withModel ? 'features + model' : 'the features alone'}`,
  );
  console.log('| figure | anchor | fraudflow first pass | fraudflow − anchor [95% paired bootstrap] |');
  console.log('| --- | --- | --- | --- |');
  for (const k of ['auc', 'recallAt1PctFpr', 'recallAt5PctFpr', 'bestF1'] as const) {
    const d = result.difference[k];
    console.log(`| ${k} | ${result.anchor[k]} | ${result.fraudflow[k]} | ${d.estimate} [${d.low}, ${d.high}] |`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
