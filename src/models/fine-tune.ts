/**
 * One fine-tuning run with llama.cpp's tools: the base GGUF dequantized to F32 (training needs full-precision
 * weights), the answer head written into its output layer (answer-head.py), then, with epochs > 0, every weight
 * trained with AdamW on the loss of the answers alone (fraudflow's answer trainer: the model learns to answer after
 * each first-pass text, not to write the texts), and last quantized back to the base's precision for serving.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { runToLog } from '../tools';

/** The fine-tuning toolchain the stack manager builds (src/stack/llama-cpp.ts). */
export interface TrainerTools {
  /** fraudflow's answer trainer (src/models/trainer/answer-finetune.cpp). */
  answerFinetune: string;
  quantize: string;
  /** A Python with gguf-py, in a virtual environment of its own in the cache. */
  python: string;
}

export const FineTuneHyperparameters = z.object({
  /** Training rows at most (every fraud up to half, the rest legitimate). */
  maxRows: z.number().int().min(2),
  /** Passes of full fine-tuning after the answer head; 0: the head alone (see docs/models.md for why). */
  epochs: z.number().int().min(0),
  learningRate: z.number().positive(),
  /** Tokens per training window: one example each, padded (llama.cpp sizes a context in multiples of 256). */
  contextSize: z.number().int().min(256),
  /** Training-slice rows the answer head is fitted on, at most (older runs had no head). */
  headRows: z.number().int().min(20).optional(),
  /** The served model's quantization (llama-quantize type), the base's by default. */
  quantization: z.string().min(1),
});
export type FineTuneHyperparameters = z.infer<typeof FineTuneHyperparameters>;

export const defaultHyperparameters: FineTuneHyperparameters & { headRows: number } = {
  maxRows: 400,
  epochs: 0,
  learningRate: 2e-6,
  contextSize: 256,
  headRows: 4000,
  quantization: 'Q4_1',
};

export interface TrainingProgress {
  epoch: number;
  epochs: number;
  /** Windows done and total in this epoch. */
  done: number;
  total: number;
  loss?: number;
}

/** The trainer's progress line (llama.cpp's), e.g. `train: [███▋  ] data=0000034/0000073 loss=1.27295±0.06515 acc=…`. */
export function parseTrainingLine(line: string): { done: number; total: number; loss?: number } | undefined {
  const m = /^train: .*data=(\d+)\/(\d+)(?: loss=([\d.]+))?/.exec(line.trim());
  if (!m) return undefined;
  return { done: Number(m[1]), total: Number(m[2]), ...(m[3] ? { loss: Number(m[3]) } : {}) };
}

export async function dequantize(tools: TrainerTools, from: string, to: string, logFile: string): Promise<void> {
  await quantizeTo(tools, from, to, 'F32', logFile);
}

export async function quantizeTo(
  tools: TrainerTools,
  from: string,
  to: string,
  type: string,
  logFile: string,
): Promise<void> {
  await runToLog(tools.quantize, ['--allow-requantize', from, `${to}.part`, type], {
    logFile,
    what: `llama-quantize ${from} to ${type}`,
  });
  fs.renameSync(`${to}.part`, to);
}

/**
 * Writes `tuned` again as `out` with every key-value of `base`: llama.cpp saves all the hyperparameters its
 * llama.cpp knows (pooling type, soft-capping, the training context as the context length) and drops the chat
 * template, and Ollama read such a file as an embedding-only model of unknown architecture.
 */
export async function withBaseMetadata(
  tools: TrainerTools,
  files: { base: string; tuned: string; out: string },
  logFile: string,
): Promise<void> {
  const script = path.join(__dirname, 'base-metadata.py');
  await runToLog(tools.python, [script, files.base, files.tuned, `${files.out}.part`], {
    logFile,
    what: `giving ${files.tuned} the metadata of ${files.base}`,
  });
  fs.renameSync(`${files.out}.part`, files.out);
}

const script = path.join(__dirname, 'answer-head.py');
/** The answer tokens the output layer's rows belong to: the word after the cue, with its leading space. */
const answerTokens = [' yes', ' no'];

/** Writes `from` (F32) again as `out` with an output layer of its own whose answer rows are the head's. */
export async function writeAnswerHead(
  tools: TrainerTools,
  files: { from: string; head: string; out: string },
  logFile: string,
): Promise<void> {
  await runToLog(tools.python, [script, 'write', files.from, `${files.out}.part`, files.head, ...answerTokens], {
    logFile,
    what: `writing the answer head into ${files.from}`,
  });
  fs.renameSync(`${files.out}.part`, files.out);
}

/** The model's own answer direction: its log-odds of `yes` is this times a unit state (an Ollama embedding). */
export async function readAnswerDirection(tools: Pick<TrainerTools, 'python'>, model: string): Promise<number[]> {
  const { stdout } = await promisify(execFile)(tools.python, [script, 'read', model, ...answerTokens], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return z.array(z.number()).min(1).parse(JSON.parse(stdout));
}

/** Trains every weight of `baseF32` on the answers in `textFile`, writing `out`; progress is reported per window. */
export function fineTune(
  tools: TrainerTools,
  run: { baseF32: string; textFile: string; out: string; logFile: string; answerCue: string },
  hp: FineTuneHyperparameters,
  onProgress: (p: TrainingProgress) => void,
): Promise<void> {
  const args = ['-m', run.baseF32, '-f', run.textFile, '-o', `${run.out}.part`, '--cue', run.answerCue];
  args.push('-c', String(hp.contextSize), '--epochs', String(hp.epochs), '--lr', String(hp.learningRate));
  args.push('-t', String(os.availableParallelism()));
  const log = fs.openSync(run.logFile, 'a');
  return new Promise<void>((resolve, reject) => {
    const child = spawn(tools.answerFinetune, args, { stdio: ['ignore', log, 'pipe'] });
    let epoch = 0;
    let lastDone = 0;
    let pending = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      fs.writeSync(log, chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split(/[\r\n]/);
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const p = parseTrainingLine(line);
        if (!p) continue;
        if (p.done < lastDone) epoch++;
        lastDone = p.done;
        onProgress({ epoch, epochs: hp.epochs, ...p });
      }
    });
    child.once('error', (err) => reject(new Error(`the answer trainer could not start: ${err.message}`)));
    child.once('exit', (code) => {
      fs.closeSync(log);
      if (code !== 0) return reject(new Error(`the answer trainer failed (exit ${code}); see ${run.logFile}`));
      fs.renameSync(`${run.out}.part`, run.out);
      resolve();
    });
  });
}
