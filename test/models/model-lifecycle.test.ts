/** The pure parts of `fraudflow model train`: the training set, its slices, the trainer's progress and the registry. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeCardFeatures } from '../../src/features/card-history';
import { answerCue, embeddedText, firstPassText } from '../../src/models/first-pass';
import { defaultHyperparameters, parseTrainingLine } from '../../src/models/fine-tune';
import type { RegisteredModel } from '../../src/models/registry';
import { ModelRegistryError, promotionRefusal, readRegistry, registerModel } from '../../src/models/registry';
import type { LabelledTransaction } from '../../src/models/training-set';
import { sampleTrainingRows, sliceByTime, trainingExample, trainingText } from '../../src/models/training-set';
import { policyFigures } from '../../src/scoring/held-out';
import { calibrationInputs } from '../../src/scoring/calibration';
import type { ScoringPolicyFile } from '../../src/scoring/policy-file';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { sampleTransaction } from '../support/pipeline';

function row(i: number, isFraud: boolean): LabelledTransaction {
  const event = TransactionEvent.parse(
    sampleTransaction({ transactionId: `txn-${i}`, amount: { minor: 1000 + i, currency: 'USD' } }),
  );
  return { event, features: computeCardFeatures([], event), isFraud, at: 1_000_000 + i * 1000 };
}

const rows = Array.from({ length: 100 }, (_, i) => row(i, i % 10 === 0));

describe('training set', () => {
  it('teaches exactly the first-pass text, then the answer', () => {
    const r = rows[0]!;
    expect(trainingExample(r)).toBe(`${firstPassText(r.event, r.features)}\nfraud: yes\n`);
    expect(trainingExample(rows[1]!).endsWith('\nfraud: no\n')).toBe(true);
  });

  it("embeds, for a fine-tuned model's first pass, the training example up to its answer", () => {
    for (const r of rows.slice(0, 2)) {
      const embedded = embeddedText(r.event, r.features, answerCue);
      expect(trainingExample(r)).toBe(`${embedded} ${r.isFraud ? 'yes' : 'no'}\n`);
      expect(embeddedText(r.event, r.features)).toBe(firstPassText(r.event, r.features));
    }
  });

  it('slices by time with no transaction in two slices, the latest held out', () => {
    const shuffled = [...rows].reverse();
    const s = sliceByTime(shuffled, { train: 0.5, calibrate: 0.25 });
    expect([s.train.length, s.calibrate.length, s.heldOut.length]).toEqual([50, 25, 25]);
    expect(s.train.at(-1)!.at).toBeLessThan(s.calibrate[0]!.at);
    expect(s.calibrate.at(-1)!.at).toBeLessThan(s.heldOut[0]!.at);
    expect(() => sliceByTime(rows, { train: 0.8, calibrate: 0.2 })).toThrow(/held-out/);
  });

  it('keeps every fraud up to half the rows, fills with legitimate rows spread over time, in time order', () => {
    const sample = sampleTrainingRows(rows, 30);
    expect(sample).toHaveLength(30);
    expect(sample.filter((r) => r.isFraud)).toHaveLength(10);
    expect(sample.map((r) => r.at)).toEqual([...sample.map((r) => r.at)].sort((a, b) => a - b));
    expect(sampleTrainingRows(rows, 10).filter((r) => r.isFraud)).toHaveLength(5);
    expect(sampleTrainingRows(rows, 1000)).toHaveLength(100);
  });

  it('hashes the training text: same rows, same hash; one label changed, another', () => {
    const a = trainingText(rows.slice(0, 20));
    expect(trainingText(rows.slice(0, 20)).hash).toBe(a.hash);
    const flipped = rows.slice(0, 20).map((r, i) => (i === 3 ? { ...r, isFraud: !r.isFraud } : r));
    expect(trainingText(flipped).hash).not.toBe(a.hash);
  });
});

describe("the trainer's progress", () => {
  it('reads windows done, total and loss from a progress line', () => {
    const line = 'train: [███▋    ] data=0000034/0000073 loss=1.27295±0.06515 acc=74.32±0.47% t=00:01:55 ETA=00:02:12';
    expect(parseTrainingLine(line)).toEqual({ done: 34, total: 73, loss: 1.27295 });
    expect(parseTrainingLine('val: [██] data=0000001/0000004 loss=2.1')).toBeUndefined();
    expect(parseTrainingLine('llama_model_loader: loaded meta data')).toBeUndefined();
  });
});

describe('held-out figures of a policy', () => {
  const width = calibrationInputs.length;
  // A probe reading the first embedding dimension; a calibration that passes the model's log-odds through.
  const policy: ScoringPolicyFile = {
    schemaVersion: 1,
    name: 'test',
    localModel: 'm',
    firstPass: {
      kind: 'embedding-probe',
      probe: { intercept: 0, weights: [4, 0], mean: [0, 0], scale: [1, 1] },
    },
    calibration: {
      withModel: true,
      model: {
        intercept: 0,
        weights: Array.from({ length: width + 1 }, (_, i) => (i === width ? 1 : 0)),
        mean: new Array<number>(width + 1).fill(0),
        scale: new Array<number>(width + 1).fill(1),
      },
    },
    thresholds: {
      reviewAt: 0.5,
      declineAt: 0.9,
      escalation: { low: 0.4, high: 0.6 },
      minConfidence: 0,
      hosted: { reviewAt: 0.5, declineAt: 0.8, mode: 'decides' },
    },
    provenance: {},
  };

  it('measures a probe that separates perfectly, and one that is always unsure', () => {
    const embedded = rows.map((r) => ({ ...r, embedding: [r.isFraud ? 1 : -1, 0] }));
    const sharp = policyFigures(policy, embedded);
    expect(sharp).toMatchObject({ rows: 100, frauds: 10, auc: 1, recallAt1PctFpr: 1, declineF1: 1, flaggedRecall: 1 });
    expect(sharp.escalatedShare).toBe(0);
    const unsure = policyFigures(
      policy,
      rows.map((r) => ({ ...r, embedding: [0, 0] })),
    );
    expect(unsure).toMatchObject({ auc: 0.5, declineF1: 0, escalatedShare: 1 });
  });
});

describe('model registry', () => {
  const entry = (tag: string): RegisteredModel => {
    const figures = {
      rows: 10,
      frauds: 2,
      auc: 0.9,
      recallAt1PctFpr: 0.5,
      declineF1: 0.6,
      flaggedRecall: 0.7,
      escalatedShare: 0.1,
    };
    return {
      tag,
      digest: 'sha-new',
      base: { tag: 'base:1', digest: 'sha-base' },
      trainingData: { hash: 'h', replayIds: ['r'], rows: 10, frauds: 2, from: 'a', until: 'b' },
      hyperparameters: defaultHyperparameters,
      policy: { file: 'p.json', hash: 'ph' },
      basePolicy: { file: 'b.json', hash: 'bh' },
      heldOut: { from: 'c', base: figures, fineTuned: { ...figures, auc: 0.95 } },
      trainingSeconds: 60,
      createdAt: '2026-11-28T00:00:00Z',
    };
  };

  it('adds entries, replaces one by tag, and reads them back', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'registry-')), 'registry.json');
    expect(readRegistry(file).models).toEqual([]);
    registerModel(file, entry('m:ft-1'));
    registerModel(file, entry('m:ft-2'));
    registerModel(file, { ...entry('m:ft-1'), digest: 'sha-again' });
    const models = readRegistry(file).models;
    expect(models.map((m) => m.tag)).toEqual(['m:ft-2', 'm:ft-1']);
    expect(models[1]!.digest).toBe('sha-again');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['registry.json']);
  });

  it('refuses promotion of a model that measured a clear loss on either figure, and only then', () => {
    const interval = (estimate: number, low: number, high: number) => ({
      estimate,
      low,
      high,
      level: 0.95,
      resamples: 1000,
    });
    const withDifference = (auc: [number, number, number], recall: [number, number, number]) => ({
      ...entry('m:ft-1'),
      heldOut: {
        ...entry('m:ft-1').heldOut,
        difference: { auc: interval(...auc), recallAt1PctFpr: interval(...recall) },
      },
    });
    expect(promotionRefusal(entry('m:ft-1'))).toBeUndefined();
    expect(promotionRefusal(withDifference([0.01, 0.004, 0.02], [0, -0.1, 0.1]))).toBeUndefined();
    expect(promotionRefusal(withDifference([-0.01, -0.02, 0.001], [0, 0, 0]))).toBeUndefined();
    const refusal = promotionRefusal(withDifference([-0.0129, -0.0271, -0.002], [0, 0, 0]));
    expect(refusal).toBe(
      'm:ft-1 measured a clear loss against base:1 on 10 held-out rows (2 fraud): AUC -0.0129 [-0.0271, -0.0020]',
    );
    expect(promotionRefusal(withDifference([0.01, 0.004, 0.02], [-0.2, -0.3, -0.1]))).toMatch(
      /: recall at 1% FPR -0\.2000 \[-0\.3000, -0\.1000\]$/,
    );
  });

  it('refuses to write while another run holds the lock, and names an invalid file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'registry-')), 'registry.json');
    fs.writeFileSync(`${file}.lock`, '');
    expect(() => registerModel(file, entry('m:ft-1'))).toThrow(ModelRegistryError);
    expect(fs.existsSync(file)).toBe(false);
    fs.writeFileSync(file, JSON.stringify({ schemaVersion: 1, models: [{ tag: 'x' }] }));
    expect(() => readRegistry(file)).toThrow(/is invalid/);
  });
});
