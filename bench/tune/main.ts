/**
 * `npm run bench:tune`: what tuning costs on a real history and what negative sampling changes, measured by a
 * program (not a test). Prints and writes bench/results/tune.json and tune.md:
 *
 * 1. Embedding throughput: the same rows embedded one text per request (the way tune embedded before) and several
 *    texts per request, at the local model's concurrency; and how far a batched embedding is from a single one.
 * 2. For each dataset (a labelled CSV in the built-in card-transactions layout, and a synthetic history):
 *    `replay --prepare-only`, then `fraudflow tune` on every row (or `--legit-sample` for the synthetic one),
 *    with its wall time in parts: embedding, fitting, the hosted sample.
 * 3. Held out, before and after sampling: on the dataset's rows split by time (earlier `--tune-share` fitted, the
 *    rest measured), a policy fitted on every row and one on every fraud plus a share of legitimate rows, scored
 *    on the same later rows: AUC and recall at 1% and 5% FPR, with paired-bootstrap intervals of the difference.
 *
 *   npm run bench:tune -- [--csv credit-card-transactions-head.csv] [--synthetic 200000] [--fraud-share 0.01]
 *                         [--legit-sample 0.02] [--held-out-sample 0.2] [--embed-probe 256]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import { runReplayCommand } from '../../src/cli/replay';
import { runTuneCommand } from '../../src/cli/tune';
import type { TuneTimings } from '../../src/cli/tune';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { stackUp } from '../../src/stack';
import { ReplayStore } from '../../src/replay/store';
import { defaultTuningLimits } from '../../src/scoring/tuning';
import { measureEmbeddingThroughput } from './embedding-throughput';
import type { EmbeddingThroughputResult } from './embedding-throughput';
import { heldOutBeforeAfter } from './held-out';
import type { HeldOutComparison } from './held-out';

const usage = `usage: npm run bench:tune -- [options]
  --csv FILE              a labelled CSV in the credit-card-transactions layout (the public head sample)
  --synthetic N           a synthetic history of N transactions (default 200000; 0 skips it)
  --fraud-share S         fraud share of the synthetic history (default 0.01)
  --legit-sample S        share of legitimate rows tune keeps on the synthetic history (default 0.02)
  --held-out-sample S     share of legitimate rows the "after" policy is fitted on, held-out comparison (default 0.2)
  --tune-share S          earlier share of each dataset fitted in the held-out comparison (default 0.6)
  --embed-probe N         rows embedded per variant in the throughput measurement (default 256)
  --hosted-sample N       escalation candidates sent to the hosted tier while tuning (default 60)
  --held-out-only         only the held-out comparison of --csv (its replay and embeddings cached by a full run)
  --out DIR               results directory (default bench/results)`;

interface DatasetResult {
  dataset: string;
  replayId: string;
  rows: number;
  frauds: number;
  legitSample: number;
  prepareSeconds: number;
  tune: TuneTimings;
  policyWarnings: unknown;
  operatingPoint: unknown;
  heldOut?: HeldOutComparison;
}

function writeSynthetic(dir: string, count: number, fraudShare: number): string {
  const file = path.join(dir, `synthetic-tune-${count}-${fraudShare}.jsonl`);
  if (fs.existsSync(file)) return file;
  const generator = createTransactionGenerator({
    seed: 20261206,
    fraudShare,
    startTime: new Date('2026-01-05T00:00:00Z'),
  });
  fs.mkdirSync(dir, { recursive: true });
  const out = fs.openSync(`${file}.part`, 'w');
  for (let i = 0; i < count; i++) fs.writeSync(out, `${JSON.stringify(generator.next())}\n`);
  fs.closeSync(out);
  fs.renameSync(`${file}.part`, file);
  return file;
}

async function prepare(config: Config, name: string, source: string, mapping?: string) {
  const started = Date.now();
  const replayId = `bench-tune-${name}`;
  const log = (line: string) => console.log(`[${name}] ${line}`);
  await runReplayCommand(config, {
    source,
    replayId,
    mapping,
    prepareOnly: true,
    chunkSize: 1000,
    chunkParallelism: 1,
    workers: true,
    log,
  });
  return { replayId, prepareSeconds: (Date.now() - started) / 1000, log };
}

async function runDataset(
  config: Config,
  d: { name: string; source: string; mapping?: string; legitSample: number },
  opts: { out: string; hostedSample: number; tuneShare: number; heldOutSample: number },
): Promise<DatasetResult> {
  const { replayId, prepareSeconds, log } = await prepare(config, d.name, d.source, d.mapping);
  const policy = await runTuneCommand(config, {
    replayId,
    out: path.join(opts.out, `policy-tune-${d.name}.json`),
    limits: defaultTuningLimits,
    hostedSample: opts.hostedSample,
    probeL2: 30,
    folds: 5,
    legitSample: d.legitSample,
    log,
  });
  const store = new ReplayStore(config.replayDir);
  const heldOut = await heldOutBeforeAfter(config, store, replayId, {
    tuneShare: opts.tuneShare,
    // The "after" policy: the dataset's own sample when tune sampled it, else --held-out-sample.
    legitSample: d.legitSample < 1 ? d.legitSample : opts.heldOutSample,
    everyRow: d.legitSample >= 1,
    log,
  });
  return {
    dataset: d.name,
    replayId,
    rows: Number(policy.provenance.standsFor ?? policy.provenance.rows),
    frauds: Number(policy.provenance.frauds),
    legitSample: d.legitSample,
    prepareSeconds,
    tune: policy.timings,
    policyWarnings: policy.provenance.warnings,
    operatingPoint: policy.thresholds,
    heldOut,
  };
}

function markdown(embedding: EmbeddingThroughputResult | undefined, datasets: DatasetResult[]): string {
  const lines: string[] = [`# bench:tune, ${new Date().toISOString()}`, ''];
  if (embedding) {
    lines.push('## Embedding throughput', '', '| texts per request | concurrency | rows/s |', '| --- | --- | --- |');
    for (const v of embedding.variants) lines.push(`| ${v.batchSize} | ${v.concurrency} | ${v.rowsPerSecond} |`);
    lines.push(
      '',
      `batched against single embeddings: max |difference| ${embedding.maxAbsDifference}, min cosine ${embedding.minCosine}`,
      '',
    );
  }
  for (const d of datasets) {
    const t = d.tune;
    lines.push(
      `## ${d.dataset}: ${d.rows} rows, ${d.frauds} fraud, legit sample ${d.legitSample}`,
      '',
      `prepare ${d.prepareSeconds.toFixed(0)} s; tune ${t.total.toFixed(0)} s = embedding ${t.embedding.toFixed(0)} s (${t.rowsEmbedded} rows, ${(t.rowsEmbedded / Math.max(t.embedding, 1e-9)).toFixed(1)} rows/s) + fitting ${t.fitting.toFixed(1)} s + hosted sample ${t.hostedSample.toFixed(0)} s`,
      '',
    );
    if (d.heldOut) lines.push(...heldOutMarkdown(d.heldOut), '');
  }
  return lines.join('\n');
}

function heldOutMarkdown(h: HeldOutComparison): string[] {
  const f = (v: number) => v.toFixed(3);
  const row = (name: string, key: 'auc' | 'recallAt1PctFpr' | 'recallAt5PctFpr') =>
    `| ${name} | ${f(h.before[key])} | ${f(h.after[key])} | ${f(h.difference[key].estimate)} [${f(h.difference[key].low)}, ${f(h.difference[key].high)}] |`;
  return [
    `held out: ${h.heldOutRows} rows (${h.heldOutFrauds} fraud) from ${h.heldOutFrom}; fitted on ${h.fittedRows.before} rows (every row) and ${h.fittedRows.after} (legit sample ${h.legitSample})`,
    '',
    '| figure | every row | sampled | sampled − every row (95%) |',
    '| --- | --- | --- | --- |',
    row('AUC', 'auc'),
    row('recall at 1% FPR', 'recallAt1PctFpr'),
    row('recall at 5% FPR', 'recallAt5PctFpr'),
    '',
    `fitting: ${h.fitSeconds.before.toFixed(1)} s every row, ${h.fitSeconds.after.toFixed(1)} s sampled`,
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      csv: { type: 'string' },
      synthetic: { type: 'string', default: '200000' },
      'fraud-share': { type: 'string', default: '0.01' },
      'legit-sample': { type: 'string', default: '0.02' },
      'held-out-sample': { type: 'string', default: '0.2' },
      'tune-share': { type: 'string', default: '0.6' },
      'embed-probe': { type: 'string', default: '256' },
      'hosted-sample': { type: 'string', default: '60' },
      out: { type: 'string', default: 'bench/results' },
      'held-out-only': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return console.log(usage);
  const config = loadConfig();
  await stackUp(config, { log: (l) => console.log(`[stack] ${l}`) });
  const out = path.resolve(values.out);
  fs.mkdirSync(out, { recursive: true });
  const common = {
    out,
    hostedSample: Number(values['hosted-sample']),
    tuneShare: Number(values['tune-share']),
    heldOutSample: Number(values['held-out-sample']),
  };
  if (values['held-out-only'] && values.csv) {
    const { replayId, log } = await prepare(config, 'csv', path.resolve(values.csv), 'credit-card-transactions');
    const store = new ReplayStore(config.replayDir);
    const h = await heldOutBeforeAfter(config, store, replayId, {
      tuneShare: common.tuneShare,
      legitSample: common.heldOutSample,
      everyRow: true,
      log,
    });
    fs.writeFileSync(path.join(out, 'tune-held-out.json'), `${JSON.stringify(h, null, 2)}\n`);
    return console.log(h ? heldOutMarkdown(h).join('\n') : 'no held-out comparison');
  }
  const datasets: DatasetResult[] = [];
  let embedding: EmbeddingThroughputResult | undefined;
  if (values.csv) {
    const csv = { name: 'csv', source: path.resolve(values.csv), mapping: 'credit-card-transactions', legitSample: 1 };
    const { replayId } = await prepare(config, csv.name, csv.source, csv.mapping);
    embedding = await measureEmbeddingThroughput(config, new ReplayStore(config.replayDir), replayId, {
      rows: Number(values['embed-probe']),
      dir: path.join(config.cacheDir, 'bench-embedding'),
    });
    console.log(JSON.stringify(embedding));
    datasets.push(await runDataset(config, csv, common));
  }
  const synthetic = Number(values.synthetic);
  if (synthetic > 0) {
    const source = writeSynthetic(path.join(config.cacheDir, 'bench-data'), synthetic, Number(values['fraud-share']));
    datasets.push(
      await runDataset(
        config,
        { name: `synthetic-${synthetic}`, source, legitSample: Number(values['legit-sample']) },
        common,
      ),
    );
  }
  const md = markdown(embedding, datasets);
  fs.writeFileSync(path.join(out, 'tune.json'), `${JSON.stringify({ embedding, datasets }, null, 2)}\n`);
  fs.writeFileSync(path.join(out, 'tune.md'), `${md}\n`);
  console.log(md);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
