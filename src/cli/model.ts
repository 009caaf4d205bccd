/**
 * `fraudflow model train | list`: fine-tune the local model on labelled replays and keep its lineage.
 *
 * promote | rollback: which model and policy decide new transactions, kept in the online store (src/models/assignment.ts).
 *
 * train: the replays' labelled rows are split by time into a training slice (the fine-tuning set is drawn from it),
 * a calibration slice (the base and the fine-tuned model each get a scoring policy fitted there, the same way) and a
 * held-out slice (both policies measured there, never fitted on). Every step writes its result into a run folder
 * named by the training data and hyperparameters, so an interrupted run picks up where it stopped; the registry is
 * written last, in one rename.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import type { Config } from '../config';
import type { FineTuneHyperparameters, TrainingProgress } from '../models/fine-tune';
import {
  defaultHyperparameters,
  dequantize,
  fineTune,
  quantizeTo,
  readAnswerDirection,
  withBaseMetadata,
  writeAnswerHead,
} from '../models/fine-tune';
import type { AnswerHead } from '../models/answer-head';
import { answerProbe, fitAnswerHead } from '../models/answer-head';
import { createOllamaModel, modelfileFor, ollamaDigest } from '../models/ollama-import';
import type { ModelAssignment, PolicyRef } from '../models/assignment';
import { createAssignmentStore, promote, rollback, shadow } from '../models/assignment';
import type { RegisteredModel } from '../models/registry';
import { ModelRegistryError, promotionRefusal, readRegistry, registerModel } from '../models/registry';
import type { LabelledTransaction, TimeSlices } from '../models/training-set';
import { comparisonTable, heldOutDifference } from '../models/held-out-comparison';
import { sampleHeadRows, sampleTrainingRows, sliceByTime, trainingText } from '../models/training-set';
import { ReplayStore } from '../replay/store';
import type { EmbeddedRow, PolicyFigures } from '../scoring/held-out';
import { figuresAt, policyProbability } from '../scoring/held-out';
import { writePolicyFile } from '../scoring/policy-file';
import type { LoadedPolicy } from '../scoring/policy-file';
import type { TuningLimits } from '../scoring/tuning';
import type { LogisticModel } from '../scoring/logistic';
import { ensureTrainerTools } from '../stack/llama-cpp';
import { stackLayout } from '../stack/layout';
import { embedRows } from '../models/embedding-cache';
import { readLabelledTransactions } from '../replay/labelled-rows';
import type { Embedder } from '../scoring/policy-fit';
import { fitScoringPolicy } from '../scoring/policy-fit';
import type { HostedRates } from '../scoring/tuning';
import { hostedThresholds, tuningSample } from './tune';
import { answerCue } from '../models/first-pass';

export interface TrainOptions {
  replayIds: string[];
  /** The new model's tag. @default `<base name>:ft-<run id>` */
  tag?: string;
  hyperparameters: FineTuneHyperparameters;
  shares: { train: number; calibrate: number };
  limits: TuningLimits;
  /** The base model's GGUF file. @default the stack's model file */
  baseGguf?: string;
  /** Share of the calibration slice's legitimate rows each policy is fitted on (every fraud kept). @default 1 */
  legitSample?: number;
  log?: (line: string) => void;
}

/** What trains: a new value starts new runs, so a run's folder never mixes two trainers' outputs. */
const trainerVersion = 'answer-head-1';

/** Where runs and the registry live: MODELS_DIR, or the data dir's models folder. */
const modelsDir = (config: Config) => config.env.MODELS_DIR ?? stackLayout(config).modelsData;

export const registryFile = (config: Config) => path.join(modelsDir(config), 'registry.json');

export async function runModelTrain(config: Config, opts: TrainOptions): Promise<RegisteredModel> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const slices = labelledSlices(config, opts);
  const trainRows = sampleTrainingRows(slices.train, opts.hyperparameters.maxRows);
  const { text, hash } = trainingText(trainRows);
  const headRows = sampleHeadRows(slices.train, opts.hyperparameters.headRows ?? defaultHyperparameters.headRows);
  const headIds = headRows.map((r) => r.event.transactionId);
  const base = config.localModel.model;
  const runId = createHash('sha256')
    .update(JSON.stringify({ hash, headIds, hp: opts.hyperparameters, base, trainer: trainerVersion }))
    .digest('hex')
    .slice(0, 10);
  const tag = opts.tag ?? `${base.split(':')[0]}:ft-${runId}`;
  const runDir = path.join(modelsDir(config), 'runs', runId);
  fs.mkdirSync(runDir, { recursive: true });
  writeOnce(path.join(runDir, 'train.txt'), text);
  const epochs = opts.hyperparameters.epochs;
  const then = epochs > 0 ? `, then ${epochs} epoch(s) of every weight on ${trainRows.length} examples` : '';
  log(
    `run ${runId} (${runDir}): ${base} as ${tag}: the answer head on ${headRows.length} training-slice rows${then} ` +
      `(${trainRows.filter((r) => r.isFraud).length} fraud of ${trainRows.length} examples, training data ${hash})`,
  );
  const answerShare = trainRows.filter((r) => r.isFraud).length / trainRows.length;
  const answerHead = () => fitHead(config, { base, runDir, headRows, answerShare, log });
  const builtSeconds = await buildFineTunedModel(config, {
    runDir,
    tag,
    baseGguf: opts.baseGguf,
    hp: opts.hyperparameters,
    answerHead,
    log,
  });
  // A run built before its timing was kept: the figure registered then.
  const trainingSeconds =
    builtSeconds ?? readRegistry(registryFile(config)).models.find((m) => m.tag === tag)?.trainingSeconds ?? 0;

  const fit = (embedder: Embedder, name: string, fixedProbe?: LogisticModel) =>
    fitAndMeasure(config, { embedder, name, runDir, slices, opts, fixedProbe, log });
  const basePolicy = await fit({ model: base }, 'base');
  // The fine-tuned model answers after the cue: its policy embeds the state the answer comes from and reads the
  // answer from it with the model's own output rows.
  const direction = await answerDirection(config, runDir, `fine-tuned-${opts.hyperparameters.quantization}.gguf`);
  const tunedPolicy = await fit({ model: tag, answerCue }, 'fine-tuned', answerProbe(direction));
  const apiBase = ollamaApi(config);
  const entry: RegisteredModel = {
    tag,
    digest: (await ollamaDigest(apiBase, tag)) ?? 'unknown',
    base: { tag: base, digest: (await ollamaDigest(apiBase, base)) ?? 'unknown' },
    trainingData: {
      hash,
      replayIds: opts.replayIds,
      rows: trainRows.length,
      frauds: trainRows.filter((r) => r.isFraud).length,
      from: new Date(slices.train[0]!.at).toISOString(),
      until: new Date(slices.train.at(-1)!.at + 1).toISOString(),
    },
    hyperparameters: opts.hyperparameters,
    policy: { file: tunedPolicy.loaded.file, hash: tunedPolicy.loaded.hash },
    basePolicy: { file: basePolicy.loaded.file, hash: basePolicy.loaded.hash },
    heldOut: {
      from: new Date(slices.heldOut[0]!.at).toISOString(),
      base: basePolicy.figures,
      fineTuned: tunedPolicy.figures,
      difference: heldOutDifference(
        slices.heldOut.map((r) => r.isFraud),
        basePolicy.probabilities,
        tunedPolicy.probabilities,
      ),
    },
    trainingSeconds,
    createdAt: new Date().toISOString(),
  };
  registerModel(registryFile(config), entry);
  log(comparisonTable(entry));
  const refusal = promotionRefusal(entry);
  log(
    refusal ? `${refusal}: promote refuses it without --force` : `shadow or promote it: fraudflow model shadow ${tag}`,
  );
  return entry;
}

function labelledSlices(config: Config, opts: TrainOptions): TimeSlices<LabelledTransaction> {
  const store = new ReplayStore(config.replayDir);
  const byId = new Map<string, LabelledTransaction>();
  for (const id of opts.replayIds)
    for (const r of readLabelledTransactions(store, id)) byId.set(r.event.transactionId, r);
  const slices = sliceByTime([...byId.values()], opts.shares);
  for (const [name, rows] of Object.entries(slices) as Array<[string, LabelledTransaction[]]>) {
    const frauds = rows.filter((r) => r.isFraud).length;
    if (frauds < 5 || rows.length - frauds < 20)
      throw new Error(`the ${name} slice has ${frauds} frauds of ${rows.length} rows; replay more labelled history`);
  }
  return slices;
}

function writeOnce(file: string, text: string): void {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  fs.writeFileSync(`${file}.part`, text);
  fs.renameSync(`${file}.part`, file);
}

const ollamaApi = (config: Config) => `http://${config.env.OLLAMA_HOST}`;

/** How long building the served model took, kept beside it so that a re-run registers the same figure. */
const BuildTiming = z.object({ seconds: z.number().int().min(0) });

/**
 * Builds the served GGUF unless the run folder has it and imports it unless Ollama has the tag; returns the seconds
 * the build took, or undefined for a run folder that does not record them.
 */
async function buildFineTunedModel(
  config: Config,
  run: {
    runDir: string;
    tag: string;
    baseGguf?: string;
    hp: FineTuneHyperparameters;
    answerHead: () => Promise<string>;
    log: (l: string) => void;
  },
): Promise<number | undefined> {
  const layout = stackLayout(config);
  const file = (name: string) => path.join(run.runDir, name);
  const logFile = file('train.log');
  const served = file(`fine-tuned-${run.hp.quantization}.gguf`);
  const timing = file('build-timing.json');
  if (!fs.existsSync(served)) {
    const started = Date.now();
    const tools = await ensureTrainerTools(layout, config.env.LLAMA_CPP_BIN_DIR, run.log);
    if (!fs.existsSync(file('fine-tuned-f32.gguf'))) {
      if (!fs.existsSync(file('answer-head-f32.gguf'))) {
        if (!fs.existsSync(file('base-f32.gguf')))
          await dequantize(tools, run.baseGguf ?? layout.modelFile, file('base-f32.gguf'), logFile);
        const head = await run.answerHead();
        await writeAnswerHead(tools, { from: file('base-f32.gguf'), head, out: file('answer-head-f32.gguf') }, logFile);
      }
      if (run.hp.epochs > 0) await trainWithProgress(tools, run, logFile);
      else fs.renameSync(file('answer-head-f32.gguf'), file('fine-tuned-f32.gguf'));
    }
    const quantized = file(`fine-tuned-${run.hp.quantization}-trainer-metadata.gguf`);
    await quantizeTo(tools, file('fine-tuned-f32.gguf'), quantized, run.hp.quantization, logFile);
    await withBaseMetadata(tools, { base: run.baseGguf ?? layout.modelFile, tuned: quantized, out: served }, logFile);
    const intermediate = ['base-f32.gguf', 'answer-head-f32.gguf', 'fine-tuned-f32.gguf'].map(file);
    for (const f of [...intermediate, quantized]) fs.rmSync(f, { force: true });
    fs.writeFileSync(timing, JSON.stringify({ seconds: Math.round((Date.now() - started) / 1000) }));
  }
  const built = fs.existsSync(timing)
    ? BuildTiming.parse(JSON.parse(fs.readFileSync(timing, 'utf8'))).seconds
    : undefined;
  if (!(await ollamaDigest(ollamaApi(config), run.tag))) await importIntoOllama(config, { ...run, served, logFile });
  return built;
}

async function importIntoOllama(
  config: Config,
  run: { runDir: string; tag: string; served: string; logFile: string; log: (l: string) => void },
): Promise<void> {
  const layout = stackLayout(config);
  const file = (name: string) => path.join(run.runDir, name);
  const { served, logFile } = run;
  fs.writeFileSync(file('Modelfile'), modelfileFor(served));
  await createOllamaModel({
    ollamaBin: config.env.OLLAMA_BIN ?? layout.ollamaBin,
    host: config.env.OLLAMA_HOST,
    tag: run.tag,
    modelfile: file('Modelfile'),
    logFile,
  });
  run.log(`imported ${run.tag} into Ollama through ${file('Modelfile')}`);
}

async function trainWithProgress(
  tools: Awaited<ReturnType<typeof ensureTrainerTools>>,
  run: { runDir: string; hp: FineTuneHyperparameters; log: (l: string) => void },
  logFile: string,
): Promise<void> {
  const file = (name: string) => path.join(run.runDir, name);
  const bar = process.stdout.isTTY
    ? new cliProgress.SingleBar({
        format: 'fine-tune [{bar}] {percentage}% | epoch {epoch}/{epochs} | loss {loss} | ETA {eta_formatted}',
      })
    : undefined;
  let lastLogged = 0;
  const onProgress = (p: TrainingProgress) => {
    const value = p.epoch * p.total + p.done;
    const payload = { epoch: p.epoch + 1, epochs: p.epochs, loss: p.loss?.toFixed(3) ?? '-' };
    if (bar) {
      if (bar.getTotal() !== p.total * p.epochs) bar.start(p.total * p.epochs, value, payload);
      bar.update(value, payload);
    } else if (Date.now() - lastLogged > 30_000) {
      lastLogged = Date.now();
      run.log(`fine-tune: epoch ${p.epoch + 1}/${p.epochs}, window ${p.done}/${p.total}, loss ${payload.loss}`);
    }
  };
  try {
    await fineTune(
      tools,
      {
        baseF32: file('answer-head-f32.gguf'),
        textFile: file('train.txt'),
        out: file('fine-tuned-f32.gguf'),
        logFile,
        answerCue,
      },
      run.hp,
      onProgress,
    );
  } finally {
    bar?.stop();
  }
}

/**
 * The answer head fitted on the base model's states at the answer cue over the head rows, written to the run
 * folder (head.json); returns the file.
 */
async function fitHead(
  config: Config,
  a: { base: string; runDir: string; headRows: LabelledTransaction[]; answerShare: number; log: (l: string) => void },
): Promise<string> {
  const file = path.join(a.runDir, 'head.json');
  const states = await embedRows(config, { model: a.base, answerCue }, a.runDir, a.headRows, a.log);
  const head: AnswerHead = fitAnswerHead(
    states,
    a.headRows.map((r) => r.isFraud),
    a.answerShare,
  );
  a.log(
    `answer head fitted on ${head.fittedOn.rows} training-slice rows (${head.fittedOn.frauds} fraud) with ${a.base}`,
  );
  writeOnce(file, JSON.stringify(head));
  return file;
}

/** The served model's own answer direction, read from its output layer once and kept in the run folder. */
async function answerDirection(config: Config, runDir: string, served: string): Promise<number[]> {
  const file = path.join(runDir, 'answer-direction.json');
  if (!fs.existsSync(file)) {
    const tools = await ensureTrainerTools(stackLayout(config), config.env.LLAMA_CPP_BIN_DIR, () => undefined);
    writeOnce(file, JSON.stringify(await readAnswerDirection(tools, path.join(runDir, served))));
  }
  return z.array(z.number()).parse(JSON.parse(fs.readFileSync(file, 'utf8')));
}

/** The model's scoring policy fitted on the calibration slice, and its figures on the held-out slice. */
async function fitAndMeasure(
  config: Config,
  a: {
    embedder: Embedder;
    name: string;
    runDir: string;
    slices: TimeSlices<LabelledTransaction>;
    opts: TrainOptions;
    fixedProbe?: LogisticModel;
    log: (l: string) => void;
  },
): Promise<{ loaded: LoadedPolicy; figures: PolicyFigures; probabilities: number[] }> {
  const calibrate = tuningSample(a.slices.calibrate, a.opts.legitSample);
  const rows = [...calibrate.rows, ...a.slices.heldOut];
  const embeddings = await embedRows(config, a.embedder, a.runDir, rows, a.log);
  const calibrateCount = calibrate.rows.length;
  const rates = shippedHostedRates(config);
  const policy = await fitScoringPolicy(
    {
      embedder: a.embedder,
      rows: calibrate.rows,
      embeddings: embeddings.slice(0, calibrateCount),
      weights: calibrate.weights,
      rules: config.policy.rules,
      hostedThresholds: hostedThresholds(config),
      measureHosted: () => Promise.resolve(rates),
    },
    {
      name: `${a.name}-${path.basename(a.runDir)}`,
      command: `fraudflow model train ${a.opts.replayIds.join(' ')}`,
      provenance: { replayIds: a.opts.replayIds, slice: 'calibrate' },
      limits: a.opts.limits,
      probeL2: 30,
      folds: 5,
      ...(a.fixedProbe ? { fixedProbe: a.fixedProbe } : {}),
      log: a.log,
    },
  );
  const loaded = writePolicyFile(path.join(a.runDir, `policy-${a.name}.json`), policy);
  const heldOut: EmbeddedRow[] = a.slices.heldOut.map((r, i) => ({ ...r, embedding: embeddings[calibrateCount + i]! }));
  const probabilities = heldOut.map((r) => policyProbability(policy, r));
  return {
    loaded,
    figures: figuresAt(
      policy.thresholds,
      probabilities,
      a.slices.heldOut.map((r) => r.isFraud),
    ),
    probabilities,
  };
}

/** The hosted tier's rates the configured policy was tuned with: both models are compared under the same tier. */
function shippedHostedRates(config: Config) {
  const provenance = config.scoringPolicy.policy.provenance;
  const rates = provenance.hostedRates as HostedRates | null | undefined;
  return rates ?? undefined;
}

export async function runModelList(config: Config): Promise<void> {
  const store = createAssignmentStore(config);
  try {
    console.log(describeAssignment(await store.current(), config));
  } finally {
    await store.close();
  }
  const registry = readRegistry(registryFile(config));
  if (registry.models.length === 0) {
    console.log(`no fine-tuned models yet (${registryFile(config)}); run fraudflow model train <replayId...>`);
    return;
  }
  for (const m of registry.models) {
    console.log(
      `${m.tag}  ${m.digest.slice(0, 12)}  from ${m.base.tag}  data ${m.trainingData.hash}  policy ${m.policy.hash}  ` +
        `held-out recall@1%FPR ${m.heldOut.base.recallAt1PctFpr} → ${m.heldOut.fineTuned.recallAt1PctFpr}  ${m.createdAt}` +
        (promotionRefusal(m) ? '  (a clear held-out loss: promote needs --force)' : ''),
    );
  }
}

/** What `promote` deploys: a registered model's own policy, or `policyFile` for any model Ollama serves. */
export function policyRefFor(config: Config, tag: string, policyFile?: string): { model: string; file: string } {
  if (policyFile) return { model: tag, file: policyFile };
  const entry = registeredModel(config, tag);
  if (!entry) throw new ModelRegistryError(`${tag} is not in the model registry; give its policy with --policy <file>`);
  return { model: tag, file: entry.policy.file };
}

const registeredModel = (config: Config, tag: string) =>
  readRegistry(registryFile(config)).models.find((m) => m.tag === tag);

function describeAssignment(a: ModelAssignment, config: Config): string {
  const name = (r: PolicyRef | null) =>
    r
      ? `${r.model} (policy file ${r.policyFileHash})`
      : `${config.localModel.model} (configured policy file ${config.scoringPolicy.hash})`;
  const challenger = a.challenger ? `; challenger ${name(a.challenger)} in shadow` : '';
  return `champion ${name(a.champion)}${challenger}; ${a.previous.length} earlier champion(s) kept for rollback (version ${a.version})`;
}

/** The model and its policy decide every transaction the ingest fetches from now on; no restart. */
export async function runModelPromote(
  config: Config,
  tag: string,
  opts: { policyFile?: string; force?: boolean } = {},
): Promise<ModelAssignment> {
  const entry = registeredModel(config, tag);
  const refusal = entry && promotionRefusal(entry);
  if (refusal && !opts.force) throw new ModelRegistryError(`${refusal}; not promoted (--force promotes it anyway)`);
  const ref = policyRefFor(config, tag, opts.policyFile);
  if (!(await ollamaDigest(ollamaApi(config), ref.model)))
    throw new Error(`Ollama at ${config.env.OLLAMA_HOST} has no model ${ref.model}`);
  const store = createAssignmentStore(config);
  try {
    const policyFileHash = await store.storePolicy(fs.readFileSync(ref.file, 'utf8'));
    const assignment = await store.update((a) => promote(a, { model: ref.model, policyFileHash }));
    console.log(`promoted: ${describeAssignment(assignment, config)}`);
    return assignment;
  } finally {
    await store.close();
  }
}

/** The champion before the current one decides again. */
export async function runModelRollback(config: Config): Promise<ModelAssignment> {
  const store = createAssignmentStore(config);
  try {
    const assignment = await store.update(rollback);
    console.log(`rolled back: ${describeAssignment(assignment, config)}`);
    return assignment;
  } finally {
    await store.close();
  }
}

/** Scores the model (with its policy) in shadow beside the champion on live traffic; no tag stops shadowing. */
export async function runModelShadow(
  config: Config,
  tag: string | undefined,
  policyFile?: string,
): Promise<ModelAssignment> {
  const store = createAssignmentStore(config);
  try {
    let ref: PolicyRef | null = null;
    if (tag) {
      const chosen = policyRefFor(config, tag, policyFile);
      if (!(await ollamaDigest(ollamaApi(config), chosen.model)))
        throw new Error(`Ollama at ${config.env.OLLAMA_HOST} has no model ${chosen.model}`);
      ref = { model: chosen.model, policyFileHash: await store.storePolicy(fs.readFileSync(chosen.file, 'utf8')) };
    }
    const assignment = await store.update((a) => shadow(a, ref));
    console.log(`${tag ? 'shadowing' : 'shadow stopped'}: ${describeAssignment(assignment, config)}`);
    return assignment;
  } finally {
    await store.close();
  }
}
