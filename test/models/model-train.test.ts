/**
 * `fraudflow model train` end to end on the real stack, in a small configuration: a labelled replay, the answer
 * head written into the model's output layer, a few fine-tuning steps with llama.cpp, the import into Ollama through a Modelfile, the registry entry, and one
 * transaction scored through the pipeline by the new tag with the policy fitted for it.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryFile, runModelTrain } from '../../src/cli/model';
import { loadConfig } from '../../src/config';
import type { Config } from '../../src/config';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { readRegistry } from '../../src/models/registry';
import type { RegisteredModel } from '../../src/models/registry';
import { ollamaDigest } from '../../src/models/ollama-import';
import { AnswerHead, answerProbe, dot } from '../../src/models/answer-head';
import { readAnswerDirection } from '../../src/models/fine-tune';
import { ensureTrainerTools } from '../../src/stack/llama-cpp';
import { stackLayout } from '../../src/stack/layout';
import { runReplayCommand } from '../../src/cli/replay';
import { loadPolicyFile } from '../../src/scoring/policy-file';
import { defaultTuningLimits } from '../../src/scoring/tuning';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';

describe('fraudflow model train', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-train-'));
  const tag = `fraudflow-test:ft-${randomUUID().slice(0, 8)}`;
  let config: Config;
  let apiBase: string;
  let pipeline: TestPipeline | undefined;

  beforeAll(() => {
    config = loadConfig({
      ...process.env,
      REPLAY_DIR: path.join(tmp, 'replays'),
      MODELS_DIR: path.join(tmp, 'models'),
      TASK_QUEUE_PREFIX: `test-train-${randomUUID().slice(0, 8)}`,
      HOSTED_ESCALATION_ENABLED: 'false',
      METRICS_PORT: '0',
      SDK_METRICS_PORT: '0',
    });
    apiBase = `http://${config.env.OLLAMA_HOST}`;
  });

  afterAll(async () => {
    await pipeline?.close();
    await fetch(`${apiBase}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: tag }) });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('fine-tunes, imports, registers the lineage, and the new tag scores a transaction', async () => {
    // 240 labelled transactions, a quarter fraud, prepared (features and labels) but not scored.
    const generator = createTransactionGenerator({ seed: 11, fraudShare: 0.25, idPrefix: `train-${randomUUID()}` });
    const file = path.join(tmp, 'history.jsonl');
    fs.writeFileSync(file, Array.from({ length: 240 }, () => JSON.stringify(generator.next())).join('\n') + '\n');
    const replay = await runReplayCommand(config, {
      source: file,
      chunkSize: 120,
      chunkParallelism: 2,
      prepareOnly: true,
      workers: true,
      log: () => undefined,
    });

    const train = () =>
      runModelTrain(config, {
        replayIds: [replay.replayId],
        tag,
        hyperparameters: { maxRows: 16, epochs: 1, learningRate: 1e-4, contextSize: 256, quantization: 'Q4_1' },
        shares: { train: 0.5, calibrate: 0.25 },
        limits: defaultTuningLimits,
        log: () => undefined,
      });
    const entry = await train();

    const registered: RegisteredModel | undefined = readRegistry(registryFile(config)).models.find(
      (m) => m.tag === tag,
    );
    expect(registered).toEqual(entry);
    expect(entry.trainingSeconds).toBeGreaterThan(0);
    // A re-run finds every step done and registers the same lineage, the build's duration included.
    const again = await train();
    expect(again).toEqual({ ...entry, createdAt: again.createdAt });
    expect(readRegistry(registryFile(config)).models.filter((m) => m.tag === tag)).toEqual([again]);
    expect(entry.digest).toBe(await ollamaDigest(apiBase, tag));
    expect(entry.base).toEqual({
      tag: config.localModel.model,
      digest: await ollamaDigest(apiBase, config.localModel.model),
    });
    expect(entry.digest).not.toBe(entry.base.digest);
    expect(entry.trainingData).toMatchObject({ replayIds: [replay.replayId], rows: 16, frauds: 8 });
    expect(Date.parse(entry.trainingData.until)).toBeLessThanOrEqual(Date.parse(entry.heldOut.from));
    for (const figures of [entry.heldOut.base, entry.heldOut.fineTuned]) {
      expect(figures.rows).toBe(60);
      expect(figures.auc).toBeGreaterThanOrEqual(0);
      expect(figures.auc).toBeLessThanOrEqual(1);
    }
    // Fine-tuned minus base on the same held-out rows, with a paired-bootstrap interval around each difference.
    for (const [key, d] of Object.entries(entry.heldOut.difference!)) {
      const figure = key as 'auc' | 'recallAt1PctFpr';
      expect(d.estimate).toBeCloseTo(entry.heldOut.fineTuned[figure] - entry.heldOut.base[figure], 3);
      expect(d.low).toBeLessThanOrEqual(d.high);
      expect(d).toMatchObject({ level: 0.95, resamples: 1000 });
    }
    const policy = loadPolicyFile(entry.policy.file);
    expect(policy.hash).toBe(entry.policy.hash);
    expect(policy.policy.localModel).toBe(tag);
    // The fine-tuned policy embeds each text with the question the model learned to answer; the base's does not.
    expect(policy.policy.firstPass).toMatchObject({ kind: 'embedding-probe', answerCue: 'fraud:' });
    expect(loadPolicyFile(entry.basePolicy.file).policy.firstPass).not.toHaveProperty('answerCue');
    // The answer head was fitted on the whole training slice (120 rows) and written into the served model's own
    // output layer; the fine-tuned policy scores with the served model's answer, fitted on nothing.
    const runDir = path.dirname(entry.policy.file);
    const head = AnswerHead.parse(JSON.parse(fs.readFileSync(path.join(runDir, 'head.json'), 'utf8')));
    expect(head.fittedOn).toMatchObject({ rows: 120, answerShare: 0.5 });
    const tools = await ensureTrainerTools(stackLayout(config), config.env.LLAMA_CPP_BIN_DIR, () => undefined);
    const served = await readAnswerDirection(tools, path.join(runDir, 'fine-tuned-Q4_1.gguf'));
    const baseRows = await readAnswerDirection(tools, stackLayout(config).modelFile);
    const cosine = (a: number[], b: number[]) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
    expect(cosine(served, head.direction)).toBeGreaterThan(0.9);
    expect(cosine(baseRows, head.direction)).toBeLessThan(0.5);
    expect(policy.policy.firstPass).toEqual({
      kind: 'embedding-probe',
      answerCue: 'fraud:',
      probe: answerProbe(served),
    });
    const modelfile = fs.readFileSync(path.join(path.dirname(entry.policy.file), 'Modelfile'), 'utf8');
    expect(modelfile).toMatch(/^FROM .*fine-tuned-Q4_1\.gguf$/m);
    // Only the served model stays: the F32 weights and the file llama.cpp wrote are removed.
    expect(fs.readdirSync(path.dirname(entry.policy.file)).filter((f) => f.endsWith('.gguf'))).toEqual([
      'fine-tuned-Q4_1.gguf',
    ]);
    // Ollama reads the new model as it reads the base: same architecture and metadata, a completion model.
    const show = async (model: string) => {
      const res = await fetch(`${apiBase}/api/show`, { method: 'POST', body: JSON.stringify({ model }) });
      expect(res.status).toBe(200);
      return (await res.json()) as { model_info: Record<string, unknown>; capabilities?: string[] };
    };
    const [tuned, base] = [await show(tag), await show(config.localModel.model)];
    expect(tuned.model_info['general.architecture']).toBe('llama');
    expect(Object.keys(tuned.model_info).sort()).toEqual(Object.keys(base.model_info).sort());
    expect(tuned.model_info['llama.context_length']).toBe(base.model_info['llama.context_length']);
    expect(tuned.capabilities).toEqual(base.capabilities);

    pipeline = await startTestPipeline({
      name: 'finetuned',
      ingest: true,
      env: { LOCAL_MODEL_NAME: tag, SCORING_POLICY_FILE: entry.policy.file, HOSTED_ESCALATION_ENABLED: 'false' },
    });
    await pipeline.send([{ key: 'k', value: sampleTransaction() }]);
    const [decision] = await pipeline.waitForDecisions(1, 120_000);
    expect(decision!.modelCalls[0]).toMatchObject({ model: tag, tier: 'local', outcome: 'ok' });
    expect(decision!.path).toBe('local');
  }, 1_800_000);
});
