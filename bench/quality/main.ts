/**
 * `npm run bench:quality`: decision quality against labelled outcomes, measured by a program (not a test).
 *
 * For each dataset: the earlier part of its history is prepared (events, card features, labels) and tuned on
 * (`fraudflow tune`), then the later part is replayed through the real pipeline with the tuned policy — the real
 * local model and the hosted stand-in — with the earlier part as card history only. Figures come from the
 * measured replay's decisions against the labels, which never reach the scoring path.
 *
 *   npm run bench:quality -- [--count 6000] [--seed 20261128] [--tune-share 0.6] [--csv fraudTest.csv] [--ship]
 *
 * Writes bench/results/quality.json and quality.md. `--ship` copies the synthetic dataset's policy to the shipped
 * default (src/scoring/policies/default.json): that is how the default is reproduced.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { generateAssessment } from '../../src/models/assessment';
import { createModelClients } from '../../src/models/clients';
import { embedFirstPass, firstPassText } from '../../src/models/first-pass';
import { ReplayCardHistory } from '../../src/features/replay-history';
import { percentile } from '../../src/observability/figures';
import { runTuneCommand } from '../../src/cli/tune';
import { runReplayCommand } from '../../src/cli/replay';
import { ReplayStore } from '../../src/replay/store';
import { LogisticModelSchema, defaultPolicyPath, loadPolicyFile } from '../../src/scoring/policy-file';
import { buildScoringMessages } from '../../src/scoring/prompt';
import { defaultTuningLimits } from '../../src/scoring/tuning';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { stackUp } from '../../src/stack';
import type { Ablation, QualityFigures, ScoredRow } from '../../src/replay/quality';
import { firstPassCall, heldOutAblation, qualityFigures } from '../../src/replay/quality';
import { readLabelledTransactions } from '../../src/replay/labelled-rows';
import type { AnchorAnswer, SideBySide } from './anchor';
import { ensureAnchorPython, scoreWithAnchor, sideBySide } from './anchor';
import { csvTimes } from './csv';

const usage = `usage: npm run bench:quality -- [options]
  --count N          synthetic transactions (default 6000)
  --seed N           generator seed (default 20261128)
  --fraud-share S    share of fraud in the synthetic stream (default 0.05)
  --tune-share S     earlier share of each dataset's time range to tune on (default 0.6)
  --hosted-sample N  escalation candidates sent to the hosted tier while tuning (default 60)
  --csv FILE         also a public dataset in the built-in card-transactions CSV layout (fraudTest.csv)
  --csv-rows N       first N rows of --csv (default all)
  --csv-tune-share S earlier share of --csv to tune on (default --tune-share)
  --csv-only         measure only --csv (not the synthetic stream)
  --tag S            measure again under new replay ids (the default reuses a policy's stored decisions)
  --ship             copy the synthetic policy to the shipped default
  --out DIR          results directory (default bench/results)`;

interface DatasetResult {
  dataset: string;
  source: string;
  rows: { total: number; tuned: number; measured: number };
  tunedUntil: string;
  tuneReplayId: string;
  measureReplayId: string;
  policyFile: string;
  policyHash: string;
  operatingPoint: unknown;
  expectedOnTuningSlice: unknown;
  ablationOutOfFold: unknown;
  ablationHeldOut: Ablation;
  /** Whether the shipped calibration reads the model (tune keeps it only where it adds, out of fold). */
  modelAdds: boolean;
  hostedCallUsd: number;
  figures: QualityFigures;
  /** The gradient-boosted anchor beside fraudflow's first pass on the same held-out rows. */
  anchor: { chosen: AnchorAnswer['chosen']; sideBySide: SideBySide };
  localFirstPassIdleP50Ms: number;
}

/** The synthetic stream as a JSONL file with its labels (the replay keeps them apart from the events). */
function writeSynthetic(dir: string, count: number, seed: number, fraudShare: number): string {
  const file = path.join(dir, `synthetic-${seed}-${count}-${fraudShare}.jsonl`);
  if (fs.existsSync(file)) return file;
  const generator = createTransactionGenerator({ seed, fraudShare, startTime: new Date('2026-01-05T00:00:00Z') });
  const lines = Array.from({ length: count }, () => JSON.stringify(generator.next()));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** The time that splits a dataset: the earlier `share` of its rows (by occurredAt) is the tuning slice. */
function cutTime(times: number[], share: number): string {
  const sorted = [...times].sort((a, b) => a - b);
  return new Date(sorted[Math.floor(sorted.length * share)]!).toISOString();
}

/** Mean price of one hosted call, measured on a few transactions: the hosted-only counterfactual's unit. */
async function hostedCallPrice(config: Config, events: TransactionEvent[]): Promise<number> {
  const provider = config.hosted.providers[0];
  if (!provider) return 0;
  const target = createModelClients(config).hosted.get(provider.name)!;
  const history = new ReplayCardHistory();
  let total = 0;
  let calls = 0;
  for (const event of events) {
    const features = history.featuresFor(event);
    const messages = buildScoringMessages(event, 'hosted', config.hosted.redactedFields, features);
    const context = { provider: provider.name, model: provider.model, transactionId: event.transactionId };
    const answer = await generateAssessment(target, messages, context).catch(() => undefined);
    if (!answer) continue;
    total += (answer.inputTokens * provider.inputUsdPerMTok + answer.outputTokens * provider.outputUsdPerMTok) / 1e6;
    calls++;
  }
  return calls ? total / calls : 0;
}

/** Sequential first passes on an otherwise idle model: the latency without replay's queueing. */
async function idleFirstPassP50(config: Config, events: TransactionEvent[]): Promise<number> {
  const target = createModelClients(config).local.targets[0]!;
  const history = new ReplayCardHistory();
  const latencies: number[] = [];
  for (const event of events) {
    const text = firstPassText(event, history.featuresFor(event));
    const started = performance.now();
    await embedFirstPass(target.client, target.model, text);
    latencies.push(performance.now() - started);
  }
  return percentile(
    latencies.sort((a, b) => a - b),
    50,
  );
}

/** Stored decisions joined with the events they were made on. */
function scoredRows(store: ReplayStore, replayId: string): ScoredRow[] {
  const manifest = store.readManifest(replayId);
  const events = new Map<number, TransactionEvent>();
  for (let n = 0; n < (manifest?.chunksTotal ?? 0); n++) {
    for (const row of store.readChunk(replayId, n).rows) events.set(row.line, row.event);
  }
  return store.readResults(replayId).map((r) => ({ ...r, event: events.get(r.line)! }));
}

/**
 * The anchor trained on the tuning rows and scored on the measured rows that have a first pass, beside fraudflow's
 * first-pass probabilities and its operating points.
 */
function anchorSideBySide(
  python: string,
  store: ReplayStore,
  tuneReplayId: string,
  rows: ScoredRow[],
  figures: QualityFigures,
): DatasetResult['anchor'] {
  const tuning = readLabelledTransactions(store, tuneReplayId);
  const measured = rows.flatMap((r) => {
    const probability = firstPassCall(r.decision)?.riskScore;
    const features = r.decision.features;
    return r.label && features && probability !== undefined
      ? [{ event: r.event, features, isFraud: r.label.isFraud, probability }]
      : [];
  });
  const answer = scoreWithAnchor(python, { rows: tuning, labels: tuning.map((r) => r.isFraud) }, measured);
  const labels = measured.map((m) => m.isFraud);
  return {
    chosen: answer.chosen,
    sideBySide: sideBySide(labels, { anchor: answer.scores, fraudflow: measured.map((m) => m.probability) }, [
      { falsePositiveRate: figures.falsePositiveRate, recall: figures.declineRecall },
      { falsePositiveRate: figures.reviewOrDeclineFalsePositiveRate, recall: figures.recall },
    ]),
  };
}

async function runDataset(
  config: Config,
  opts: {
    name: string;
    source: string;
    times: number[];
    tuneShare: number;
    hostedSample: number;
    mapping?: string;
    /** Measures again under a new replay id instead of reusing the stored decisions of the same policy. */
    tag?: string;
  },
  workDir: string,
  sampleEvents: TransactionEvent[],
): Promise<DatasetResult> {
  const log = (line: string) => console.log(`[${opts.name}] ${line}`);
  const until = cutTime(opts.times, opts.tuneShare);
  const id = createHash('sha256').update(`${opts.source}:${until}`).digest('hex').slice(0, 8);
  const tuneReplayId = `quality-${opts.name}-${id}-tune`;
  log(`tuning slice: rows before ${until}`);
  await runReplayCommand(config, {
    source: opts.source,
    replayId: tuneReplayId,
    mapping: opts.mapping,
    scoreUntil: until,
    prepareOnly: true,
    chunkSize: 500,
    chunkParallelism: 1,
    workers: true,
    log,
  });
  const policyFile = path.join(workDir, `policy-${opts.name}-${id}.json`);
  const policy = await runTuneCommand(config, {
    replayId: tuneReplayId,
    out: policyFile,
    limits: defaultTuningLimits,
    hostedSample: opts.hostedSample,
    probeL2: 30,
    folds: 5,
    log,
  });
  const loaded = loadPolicyFile(policyFile);
  const measureConfig = loadConfig({ ...process.env, SCORING_POLICY_FILE: policyFile });
  const measureReplayId = `quality-${opts.name}-${id}-measure-${loaded.hash}${opts.tag ? `-${opts.tag}` : ''}`;
  log(`measuring: rows from ${until} with policy ${loaded.hash}`);
  await runReplayCommand(measureConfig, {
    source: opts.source,
    replayId: measureReplayId,
    mapping: opts.mapping,
    scoreFrom: until,
    chunkSize: 100,
    chunkParallelism: 2,
    workers: true,
    log,
  });
  const store = new ReplayStore(config.replayDir);
  const rows = scoredRows(store, measureReplayId);
  const hostedCallUsd = await hostedCallPrice(config, sampleEvents.slice(0, 10));
  const featuresOnly = LogisticModelSchema.parse(policy.provenance.featuresOnlyCalibration);
  const figures = qualityFigures(rows, hostedCallUsd);
  const anchor = anchorSideBySide(ensureAnchorPython(config.cacheDir, log), store, tuneReplayId, rows, figures);
  return {
    dataset: opts.name,
    source: opts.source,
    rows: { total: opts.times.length, tuned: Number(policy.provenance.rows), measured: rows.length },
    tunedUntil: until,
    tuneReplayId,
    measureReplayId,
    policyFile,
    policyHash: loaded.hash,
    operatingPoint: policy.thresholds,
    expectedOnTuningSlice: policy.provenance.expected,
    ablationOutOfFold: policy.provenance.ablation,
    ablationHeldOut: heldOutAblation(rows, {
      featuresOnly,
      withModel: LogisticModelSchema.parse(policy.provenance.withModelCalibration),
      context: loaded.policy.calibration.context,
    }),
    modelAdds: policy.provenance.modelAdds === true,
    hostedCallUsd,
    figures,
    anchor,
    // A figure beside the others: a model too busy to answer leaves it out, not the dataset.
    localFirstPassIdleP50Ms: await idleFirstPassP50(config, sampleEvents.slice(0, 40)).catch((err: unknown) => {
      log(`idle first-pass latency not measured: ${(err as Error).message}`);
      return Number.NaN;
    }),
  };
}

function syntheticEvents(file: string): TransactionEvent[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => TransactionEvent.parse(JSON.parse(l)));
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
const interval = (d: { estimate: number; low: number; high: number }) =>
  `${d.estimate >= 0 ? '+' : ''}${d.estimate.toFixed(4)} [${d.low.toFixed(4)}, ${d.high.toFixed(4)}]`;

function anchorTable(r: DatasetResult): string[] {
  const s = r.anchor.sideBySide;
  const c = r.anchor.chosen;
  const row = (name: string, k: keyof SideBySide['anchor']) =>
    `| ${name} | ${s.anchor[k]} | ${s.fraudflow[k]} | ${interval(s.difference[k])} |`;
  return [
    `Beside the anchor (LightGBM ${c.lightgbm}, ${c.trees} trees of ${c.leaves} leaves chosen by time-ordered CV, card-history features, the same tuning rows), on the same ${s.rows} held-out rows (${s.frauds} frauds):`,
    '',
    `| figure | anchor | fraudflow first pass | fraudflow − anchor [95% paired bootstrap] |`,
    `| --- | --- | --- | --- |`,
    row('ROC AUC', 'auc'),
    row('recall at 1% FPR', 'recallAt1PctFpr'),
    row('recall at 5% FPR', 'recallAt5PctFpr'),
    row('best F1', 'bestF1'),
    ...s.atFraudflowOperatingPoints.map(
      (p) =>
        `| recall at fraudflow's ${pct(p.falsePositiveRate)} FPR (${p === s.atFraudflowOperatingPoints[0] ? 'decline' : 'review or decline'}) | ${p.anchorRecall} | ${p.fraudflowRecall} (decisions) | |`,
    ),
    '',
  ];
}

function markdown(results: DatasetResult[], command: string): string {
  const lines = [`# Decision quality`, '', `\`${command}\``, ''];
  for (const r of results) {
    const f = r.figures;
    lines.push(
      `## ${r.dataset}: ${r.rows.tuned} rows tuned (before ${r.tunedUntil}), ${r.rows.measured} measured after`,
      '',
      `| figure | value |`,
      `| --- | --- |`,
      `| escalated share | ${pct(f.escalationShare)} |`,
      `| legitimate declined (FPR) | ${pct(f.falsePositiveRate)} |`,
      `| legitimate to review or decline | ${pct(f.reviewOrDeclineFalsePositiveRate)} |`,
      `| fraud flagged (recall) | ${pct(f.recall)} (${f.frauds} frauds) |`,
      `| fraud declined | ${pct(f.declineRecall)} |`,
      `| decline precision | ${pct(f.declinePrecision)} |`,
      `| hosted cost / hosted-only | ${pct(f.hostedCostShare)} ($${f.hostedCostUsd.toFixed(4)} / $${f.hostedOnlyCostUsd.toFixed(4)}) |`,
      `| local first pass p50 / p99 (pipeline) | ${f.localFirstPassP50Ms} / ${f.localFirstPassP99Ms} ms |`,
      `| local first pass p50 (idle, sequential) | ${Math.round(r.localFirstPassIdleP50Ms)} ms |`,
      `| paths | ${JSON.stringify(f.paths)} |`,
      `| held-out AUC: model alone / features / features + model | ${r.ablationHeldOut.modelAlone.auc} / ${r.ablationHeldOut.featuresOnly.auc} / ${r.ablationHeldOut.featuresPlusModel.auc} |`,
      `| held-out recall at 1% FPR: model / features / both | ${r.ablationHeldOut.modelAlone.recallAt1PctFpr} / ${r.ablationHeldOut.featuresOnly.recallAt1PctFpr} / ${r.ablationHeldOut.featuresPlusModel.recallAt1PctFpr} |`,
      `| shipped calibration | ${r.modelAdds ? 'features + model' : 'features alone (the model added nothing out of fold)'} |`,
      '',
      ...anchorTable(r),
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '6000' },
      seed: { type: 'string', default: '20261128' },
      'fraud-share': { type: 'string', default: '0.05' },
      'tune-share': { type: 'string', default: '0.6' },
      'hosted-sample': { type: 'string', default: '60' },
      csv: { type: 'string' },
      'csv-rows': { type: 'string' },
      'csv-tune-share': { type: 'string' },
      'csv-only': { type: 'boolean', default: false },
      tag: { type: 'string' },
      ship: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return void console.log(usage);
  const num = (v: string, flag: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number (got '${v}')`);
    return n;
  };
  const config = loadConfig({ ...process.env, METRICS_PORT: '0', SDK_METRICS_PORT: '0', LOG_LEVEL: 'warn' });
  await stackUp(config, { log: () => undefined });
  const workDir = path.join(config.cacheDir, 'bench', 'quality');
  const count = num(values.count, '--count');
  const file = writeSynthetic(workDir, count, num(values.seed, '--seed'), num(values['fraud-share'], '--fraud-share'));
  const events = syntheticEvents(file);
  const tuneShare = num(values['tune-share'], '--tune-share');
  const hostedSample = Number(values['hosted-sample']);
  if (values['csv-only'] && !values.csv) throw new Error('--csv-only needs --csv <file>');
  if (values['csv-only'] && values.ship) throw new Error('--ship ships the synthetic policy: run without --csv-only');
  const results = values['csv-only']
    ? []
    : [
        await runDataset(
          config,
          {
            name: 'synthetic',
            source: file,
            times: events.map((e) => Date.parse(e.occurredAt)),
            tuneShare,
            hostedSample,
            tag: values.tag,
          },
          workDir,
          events.slice(-200),
        ),
      ];
  if (values.csv) {
    const times = await csvTimes(values.csv, values['csv-rows'] ? num(values['csv-rows'], '--csv-rows') : undefined);
    results.push(
      await runDataset(
        config,
        {
          name: 'card-transactions-csv',
          source: times.file,
          times: times.times,
          tuneShare: values['csv-tune-share'] ? num(values['csv-tune-share'], '--csv-tune-share') : tuneShare,
          hostedSample,
          tag: values.tag,
        },
        workDir,
        events.slice(-200),
      ),
    );
  }
  const command = `npm run bench:quality -- ${process.argv.slice(2).join(' ')}`.trim();
  const first = results[0]!;
  const out = {
    command,
    measuredAt: new Date().toISOString(),
    dataset: first.dataset,
    rows: first.rows,
    escalationShare: first.figures.escalationShare,
    falsePositiveRate: first.figures.falsePositiveRate,
    reviewOrDeclineFalsePositiveRate: first.figures.reviewOrDeclineFalsePositiveRate,
    recall: first.figures.recall,
    declinePrecision: first.figures.declinePrecision,
    hostedCostShare: first.figures.hostedCostShare,
    localFirstPassP50Ms: first.figures.localFirstPassP50Ms,
    datasets: results,
    ...(values.csv
      ? {}
      : { publicDataset: 'not run: pass --csv <file> in the built-in card-transactions layout (fraudTest.csv)' }),
  };
  fs.mkdirSync(values.out, { recursive: true });
  fs.writeFileSync(path.join(values.out, 'quality.json'), `${JSON.stringify(out, null, 2)}\n`);
  fs.writeFileSync(path.join(values.out, 'quality.md'), markdown(results, command));
  console.log(markdown(results, command));
  if (values.ship) {
    fs.copyFileSync(first.policyFile, defaultPolicyPath);
    console.log(`shipped ${first.policyFile} as ${defaultPolicyPath}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
