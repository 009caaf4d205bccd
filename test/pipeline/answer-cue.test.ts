import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeCardFeatures } from '../../src/features/card-history';
import { answerCue, firstPassText } from '../../src/models/first-pass';
import { defaultPolicyPath, loadPolicyFile, writePolicyFile } from '../../src/scoring/policy-file';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';

/**
 * A fine-tuned model's policy carries the question the model learned to answer. Through Kafka, the ingest, Temporal
 * and the scoring worker, the first pass embeds the transaction's text followed by that cue, and nothing else.
 */
describe("a policy's answer cue", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-cue-'));
  let local: HostedTestServer;
  let pipeline: TestPipeline;

  beforeAll(async () => {
    local = await startHostedTestServer();
    const shipped = loadPolicyFile(defaultPolicyPath).policy;
    if (shipped.firstPass.kind !== 'embedding-probe') throw new Error('the shipped policy has no embedding probe');
    const cued = writePolicyFile(path.join(tmp, 'cued.json'), {
      ...shipped,
      firstPass: { ...shipped.firstPass, answerCue },
    });
    pipeline = await startTestPipeline({
      name: 'cue',
      ingest: true,
      env: { LOCAL_MODEL_BASE_URL: local.baseURL, SCORING_POLICY_FILE: cued.file, HOSTED_ESCALATION_ENABLED: 'false' },
    });
  });
  afterAll(async () => {
    await pipeline?.close();
    await local?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('embeds the first-pass text, then the cue on its own line', async () => {
    const event = sampleTransaction();
    await pipeline.send([{ key: event.transactionId, value: event }]);
    const [decision] = await pipeline.waitForDecisions(1);
    expect(decision!.modelCalls[0]).toMatchObject({ tier: 'local', outcome: 'ok' });

    const inputs = local.requests
      .filter((r) => r.path === '/v1/embeddings')
      .map((r) => (r.body as { input: string }).input);
    expect(inputs).toHaveLength(1);
    const parsed = TransactionEvent.parse(event);
    const [firstLine] = firstPassText(parsed, computeCardFeatures([], parsed)).split('\n');
    expect(inputs[0]!.startsWith(`${firstLine}\n`)).toBe(true);
    expect(inputs[0]!.endsWith(`\n${answerCue}`)).toBe(true);
    expect(inputs[0]!.split('\n')).toHaveLength(3);
  });
});
