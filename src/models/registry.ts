/**
 * The model registry: one JSON file with the lineage of every fine-tuned local model — its base and the digests
 * of both, the training data's hash and where it came from, the hyperparameters, the scoring policy fitted for it
 * and its held-out figures next to the base's. Written whole to a temporary file and renamed, under a lock file,
 * so an interrupted or concurrent run never leaves it half-written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DifferenceInterval, differenceVerdict, signedDifference } from '../scoring/paired-bootstrap';
import { FineTuneHyperparameters } from './fine-tune';

export const HeldOutFigures = z.object({
  rows: z.number().int(),
  frauds: z.number().int(),
  /** Area under the ROC curve of the calibrated probability. */
  auc: z.number(),
  recallAt1PctFpr: z.number(),
  /** F1 of declines against fraud at the policy's decline threshold. */
  declineF1: z.number(),
  /** Recall of review-or-decline at the policy's thresholds. */
  flaggedRecall: z.number(),
  /** Share of first passes in the policy's escalation band. */
  escalatedShare: z.number(),
});
export type HeldOutFigures = z.infer<typeof HeldOutFigures>;

/** Fine-tuned minus base on the held-out rows, each with its paired-bootstrap interval. */
export const HeldOutDifference = z.object({ auc: DifferenceInterval, recallAt1PctFpr: DifferenceInterval });
export type HeldOutDifference = z.infer<typeof HeldOutDifference>;

export const RegisteredModel = z.object({
  tag: z.string().min(1),
  digest: z.string().min(1),
  base: z.object({ tag: z.string().min(1), digest: z.string().min(1) }),
  trainingData: z.object({
    hash: z.string().min(1),
    replayIds: z.array(z.string()),
    rows: z.number().int(),
    frauds: z.number().int(),
    from: z.string(),
    until: z.string(),
  }),
  hyperparameters: FineTuneHyperparameters,
  /** The scoring policy fitted for this model (and the base's, fitted the same way, for the comparison). */
  policy: z.object({ file: z.string(), hash: z.string() }),
  basePolicy: z.object({ file: z.string(), hash: z.string() }),
  heldOut: z.object({
    from: z.string(),
    base: HeldOutFigures,
    fineTuned: HeldOutFigures,
    /** Absent from entries registered before the intervals were measured. */
    difference: HeldOutDifference.optional(),
  }),
  trainingSeconds: z.number(),
  createdAt: z.string(),
});
export type RegisteredModel = z.infer<typeof RegisteredModel>;

/**
 * Why a registered model should not be promoted: it measured a clear loss against its base on the held-out slice
 * (AUC or recall at 1% FPR, the paired-bootstrap interval wholly below 0). Undefined when nothing was lost.
 */
export function promotionRefusal(entry: RegisteredModel): string | undefined {
  const d = entry.heldOut.difference;
  if (!d) return undefined;
  const losses = Object.entries({ AUC: d.auc, 'recall at 1% FPR': d.recallAt1PctFpr })
    .filter(([, interval]) => differenceVerdict(interval) === 'a clear loss')
    .map(
      ([name, i]) =>
        `${name} ${signedDifference(i.estimate)} [${signedDifference(i.low)}, ${signedDifference(i.high)}]`,
    );
  if (losses.length === 0) return undefined;
  return (
    `${entry.tag} measured a clear loss against ${entry.base.tag} on ${entry.heldOut.fineTuned.rows} held-out rows ` +
    `(${entry.heldOut.fineTuned.frauds} fraud): ${losses.join(', ')}`
  );
}

export const ModelRegistry = z.object({
  schemaVersion: z.literal(1),
  models: z.array(RegisteredModel),
});
export type ModelRegistry = z.infer<typeof ModelRegistry>;

export class ModelRegistryError extends Error {
  override name = 'ModelRegistryError';
}

export function readRegistry(file: string): ModelRegistry {
  if (!fs.existsSync(file)) return { schemaVersion: 1, models: [] };
  const parsed = ModelRegistry.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new ModelRegistryError(`model registry ${file} is invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Adds (or replaces, by tag) one model's entry. */
export function registerModel(file: string, entry: RegisteredModel): ModelRegistry {
  return withLock(file, () => {
    const registry = readRegistry(file);
    const models = [...registry.models.filter((m) => m.tag !== entry.tag), RegisteredModel.parse(entry)];
    const next: ModelRegistry = { schemaVersion: 1, models };
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`);
    fs.renameSync(tmp, file);
    return next;
  });
}

function withLock<T>(file: string, body: () => T): T {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lock = `${file}.lock`;
  let fd: number;
  try {
    fd = fs.openSync(lock, 'wx');
  } catch {
    throw new ModelRegistryError(`model registry ${file} is locked by another run (remove ${lock} if none is running)`);
  }
  try {
    return body();
  } finally {
    fs.closeSync(fd);
    fs.rmSync(lock, { force: true });
  }
}
