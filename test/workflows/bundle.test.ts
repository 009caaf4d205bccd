/**
 * The workflow bundle a production image builds once (`fraudflow bundle-workflows`, WORKFLOW_BUNDLE_PATH): what it
 * contains, and that an orchestration worker scores from it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { loadConfig } from '../../src/config';
import { workflowCodeFor, writeWorkflowBundle } from '../../src/worker-set';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startScoring, startTestPipeline } from '../support/pipeline';
import { publishedDecision } from '../../src/temporal/published-decision';
import { expectReceiptOf } from '../support/receipt';

describe('the prebuilt workflow bundle', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-bundle-'));
  const file = path.join(dir, 'workflow-bundle.js');
  let pipeline: TestPipeline | undefined;
  beforeAll(async () => {
    await writeWorkflowBundle(file);
  });
  afterAll(async () => {
    await pipeline?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('holds the workflow code without zod or any I/O library', () => {
    const code = fs.readFileSync(file, 'utf8');
    expect(code).toContain('scoreTransactionWorkflow');
    expect(code).toContain('hostedBudgetLedgerWorkflow');
    // The SDK evaluates the bundle's modules for every workflow execution: a schema library in it costs CPU and
    // memory per transaction. Contracts are checked in activities and at the edges, never in workflow code.
    for (const library of ['node_modules/zod', 'node_modules/openai', 'node_modules/kafkajs', 'node_modules/pino']) {
      expect(code, library).not.toContain(library);
    }
  });

  it('is what an orchestration worker runs when WORKFLOW_BUNDLE_PATH names it', async () => {
    pipeline = await startTestPipeline({
      name: 'wf-bundle',
      env: { HOSTED_ESCALATION_ENABLED: 'false', WORKFLOW_BUNDLE_PATH: file },
    });
    expect(pipeline.config.orchestration.bundlePath).toBe(file);
    const event = TransactionEvent.parse(sampleTransaction());
    const handle = await startScoring(pipeline, event);
    const receipt = await handle.result();
    const decision = await publishedDecision(pipeline.client, handle.workflowId);
    expectReceiptOf(receipt, decision, pipeline.settings.decisionsTopic);
    expect(decision.transactionId).toBe(event.transactionId);
    expect(decision.path).toBe('local');
  });

  it('names the command that writes it when the file is missing', async () => {
    const missing = path.join(dir, 'missing.js');
    const config = loadConfig({ ...process.env, WORKFLOW_BUNDLE_PATH: missing });
    await expect(workflowCodeFor(config)).rejects.toThrow(`fraudflow bundle-workflows ${missing}`);
  });
});
