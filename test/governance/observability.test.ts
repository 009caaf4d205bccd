import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogDestination } from '../../src/observability/logger';
import { startMetricsServer } from '../../src/observability/metrics';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import { scoringWorkflowId } from '../../workflows';
import type { scoreTransactionWorkflow } from '../../workflows';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';

const secret = `sk-live-${randomUUID()}`;
// This file asserts info-level lines; the suite otherwise runs at warn.
process.env.LOG_LEVEL = 'info';
const logLines: string[] = [];
setLogDestination(
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  }),
);

/** Metrics and logs after a run with known outcomes, on real workers. */
describe('observability', () => {
  let local: HostedTestServer;
  let frontier: HostedTestServer;
  let pipeline: TestPipeline;
  const ids: string[] = [];

  beforeAll(async () => {
    [local, frontier] = await Promise.all([startHostedTestServer(), startHostedTestServer({ apiKey: secret })]);
    local.setBehaviour((req) =>
      req.lastUserText.includes('Ambiguous')
        ? { kind: 'answer', riskScore: 0.6, confidence: 0.9 }
        : { kind: 'answer', riskScore: 0.05, confidence: 0.95 },
    );
    // The frontier fails its first call with a 503 (retried by Temporal), then answers.
    frontier.setBehaviour((_req, n) =>
      n === 1 ? { kind: 'status', status: 503 } : { kind: 'answer', riskScore: 0.95, confidence: 0.9 },
    );
    pipeline = await startTestPipeline({
      name: 'observability',
      env: { LOCAL_MODEL_BASE_URL: local.baseURL, FRONTIER_SECRET: secret, MODEL_RETRY_INITIAL_MS: '100' },
      hostedProviders: [
        {
          name: 'frontier',
          baseURL: frontier.baseURL,
          apiKeyEnv: 'FRONTIER_SECRET',
          model: 'f-1',
          inputUsdPerMTok: 10,
          outputUsdPerMTok: 10,
        },
      ],
    });
    for (const name of ['Plain One', 'Plain Two', 'Plain Three', 'Ambiguous One', 'Ambiguous Two']) {
      const event = TransactionEvent.parse(
        sampleTransaction({
          transactionId: `t-${randomUUID()}`,
          merchant: { id: 'm', name, mcc: '5732', country: 'US' },
        }),
      );
      ids.push(event.transactionId);
      await pipeline.client.workflow.execute<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
        taskQueue: pipeline.settings.taskQueues.orchestration,
        workflowId: scoringWorkflowId(event.transactionId),
        args: [{ event, source: { kind: 'api' }, settings: pipeline.settings }],
      });
    }
  });
  afterAll(async () => {
    await pipeline?.close();
    await Promise.all([local, frontier].map((s) => s?.close()));
  });

  it('reports decisions, escalations, model calls, tokens and cost on the metrics endpoint', async () => {
    const server = await startMetricsServer(0);
    expect(server).toBeDefined();
    const text = await (await fetch(server!.url)).text();
    await server!.close();
    const value = (name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(name));
      return line ? Number(line.split(' ').at(-1)) : undefined;
    };
    expect(value('fraudflow_decisions_total{decision="approve",path="local"}')).toBe(3);
    expect(value('fraudflow_decisions_total{decision="decline",path="escalated"}')).toBe(2);
    expect(value('fraudflow_escalations_total')).toBe(2);
    expect(value('fraudflow_model_calls_total{provider="local",tier="local",outcome="ok"}')).toBe(5);
    expect(value('fraudflow_model_calls_total{provider="frontier",tier="hosted",outcome="ok"}')).toBe(2);
    expect(value('fraudflow_model_calls_total{provider="frontier",tier="hosted",outcome="error"}')).toBe(1);
    expect(value('fraudflow_model_cost_usd_total{provider="frontier"}')).toBeGreaterThan(0);
    expect(value('fraudflow_model_tokens_total{provider="local",tier="local",direction="input"}')).toBeGreaterThan(100);
    expect(value('fraudflow_model_latency_seconds_count{provider="frontier",tier="hosted"}')).toBe(2);
  });

  it('writes JSON log lines carrying transaction, workflow and provider, and never an API key', () => {
    const entries = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const published = entries.filter((e) => e.msg === 'decision published');
    expect(published.map((e) => e.transactionId).sort()).toEqual([...ids].sort());
    for (const e of published) expect(e.workflowId).toBe(`score-${String(e.transactionId)}`);
    const failed = entries.find((e) => e.msg === 'model call failed; Temporal decides the retry');
    expect(failed).toMatchObject({ provider: 'frontier', tier: 'hosted', failure: 'ModelUnavailable', attempt: 1 });
    expect(ids).toContain(failed?.transactionId);
    expect(logLines.join('\n')).not.toContain(secret);
    expect(JSON.stringify(pipeline.config)).not.toContain(secret);
  });
});
