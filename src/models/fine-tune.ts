/**
 * One fine-tuning run with llama.cpp's tools: the base GGUF dequantized to F32 (training needs full-precision
 * weights), every weight trained with AdamW on the loss of the answers alone (fraudflow's answer trainer: the
 * model learns to answer after each first-pass text, not to write the texts), then quantized back to the base's
 * precision for serving.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
  epochs: z.number().int().min(1),
  learningRate: z.number().positive(),
  /** Tokens per training window, packed with whole examples. */
  contextSize: z.number().int().min(256),
  /** The served model's quantization (llama-quantize type), the base's by default. */
  quantization: z.string().min(1),
});
export type FineTuneHyperparameters = z.infer<typeof FineTuneHyperparameters>;

export const defaultHyperparameters: FineTuneHyperparameters = {
  maxRows: 400,
  epochs: 1,
  learningRate: 5e-5,
  contextSize: 256,
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
