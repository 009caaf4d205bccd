/**
 * fraudflow's own Prometheus metrics (prom-client). Every worker and the ingest expose them on METRICS_PORT; the
 * Temporal SDK's runtime metrics are exported separately on SDK_METRICS_PORT by the worker entry points.
 */
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Decision, ModelCall } from '../schemas/decision';
import type { MaskCounts } from '../scoring/pii';
import { personalDataKinds } from '../scoring/pii';
import { logger } from './logger';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'fraudflow_process_' });

export const metrics = {
  decisions: new Counter({
    name: 'fraudflow_decisions_total',
    help: 'Published decisions by outcome and scoring path',
    labelNames: ['decision', 'path'] as const,
    registers: [registry],
  }),
  escalations: new Counter({
    name: 'fraudflow_escalations_total',
    help: 'Published decisions that called at least one hosted model',
    registers: [registry],
  }),
  modelCalls: new Counter({
    name: 'fraudflow_model_calls_total',
    help: 'Model call attempts by provider, tier and outcome',
    labelNames: ['provider', 'tier', 'outcome'] as const,
    registers: [registry],
  }),
  modelLatency: new Histogram({
    name: 'fraudflow_model_latency_seconds',
    help: 'Latency of model calls that answered',
    labelNames: ['provider', 'tier'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  }),
  shadowScores: new Counter({
    name: 'fraudflow_shadow_scores_total',
    help: "Challengers scored in shadow through the decision policy: agree or disagree with the champion's outcome, or failed",
    labelNames: ['model', 'agreement'] as const,
    registers: [registry],
  }),
  shadowEscalations: new Counter({
    name: 'fraudflow_shadow_escalations_total',
    help:
      'Transactions scored in shadow that went (champion) or would go (challenger) to the hosted tier; answer: whether ' +
      "a hosted answer was there (the challenger's is the champion's, reused: shadow never calls a hosted model)",
    labelNames: ['model', 'scorer', 'answer'] as const,
    registers: [registry],
  }),
  shadowScoreDelta: new Histogram({
    name: 'fraudflow_shadow_score_delta',
    help: "Challenger's fraud probability minus the champion's, per transaction scored in shadow",
    labelNames: ['model'] as const,
    buckets: [-0.5, -0.2, -0.1, -0.05, -0.01, 0.01, 0.05, 0.1, 0.2, 0.5],
    registers: [registry],
  }),
  shadowLatency: new Histogram({
    name: 'fraudflow_shadow_latency_seconds',
    help: "Latency of the challenger's first pass in shadow",
    labelNames: ['model'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [registry],
  }),
  modelTokens: new Counter({
    name: 'fraudflow_model_tokens_total',
    help: 'Tokens by provider, tier and direction (input, output)',
    labelNames: ['provider', 'tier', 'direction'] as const,
    registers: [registry],
  }),
  modelCost: new Counter({
    name: 'fraudflow_model_cost_usd_total',
    help: 'Model spend in USD by provider',
    labelNames: ['provider'] as const,
    registers: [registry],
  }),
  deadLettered: new Counter({
    name: 'fraudflow_dead_lettered_total',
    help: 'Events sent to the dead-letter topic, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
  ingested: new Counter({
    name: 'fraudflow_ingest_workflows_started_total',
    help: 'Scoring workflows started (or found already running) by the ingest',
    registers: [registry],
  }),
  consumerLag: new Gauge({
    name: 'fraudflow_ingest_consumer_lag',
    help: 'Messages behind the high watermark, per topic partition, at the last batch',
    labelNames: ['topic', 'partition'] as const,
    registers: [registry],
  }),
  duplicates: new Counter({
    name: 'fraudflow_ingest_duplicates_total',
    help: 'Events whose transactionId already had a workflow: identical redeliveries, conflicting (dead-lettered)',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  runningWorkflows: new Gauge({
    name: 'fraudflow_ingest_running_workflows',
    help: 'Running scoring workflows on the task queue as the ingest last counted them (visibility store)',
    registers: [registry],
  }),
  consumerRestarts: new Counter({
    name: 'fraudflow_ingest_consumer_restarts_total',
    help: 'Kafka consumers restarted because they fetched nothing while their partitions had lag',
    registers: [registry],
  }),
  personalDataMasked: new Counter({
    name: 'fraudflow_personal_data_masked_total',
    help: 'Personal data found in free text and masked before a hosted prompt, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
};

/** Counts one model call attempt (answered or not). */
export function recordModelCall(
  call: Pick<ModelCall, 'provider' | 'tier' | 'outcome' | 'latencyMs' | 'inputTokens' | 'outputTokens' | 'costUsd'>,
): void {
  metrics.modelCalls.inc({ provider: call.provider, tier: call.tier, outcome: call.outcome });
  if (call.outcome === 'ok' || call.outcome === 'invalid_output') {
    metrics.modelLatency.observe({ provider: call.provider, tier: call.tier }, call.latencyMs / 1000);
  }
  metrics.modelTokens.inc({ provider: call.provider, tier: call.tier, direction: 'input' }, call.inputTokens);
  metrics.modelTokens.inc({ provider: call.provider, tier: call.tier, direction: 'output' }, call.outputTokens);
  if (call.costUsd > 0) metrics.modelCost.inc({ provider: call.provider }, call.costUsd);
}

/** Counts the personal data masked in one hosted prompt. */
export function recordPersonalDataMasks(counts: MaskCounts): void {
  for (const kind of personalDataKinds) if (counts[kind] > 0) metrics.personalDataMasked.inc({ kind }, counts[kind]);
}

/** Counts one published decision. */
export function recordDecision(decision: Decision): void {
  metrics.decisions.inc({ decision: decision.decision, path: decision.path });
  if (decision.modelCalls.some((c) => c.tier === 'hosted')) metrics.escalations.inc();
}

/**
 * Serves /metrics on `host`:`port` (0 picks a free port; METRICS_HOST gives the host). A port already taken (several roles on one host) is logged,
 * not fatal: metrics must never stop scoring.
 */
export function startMetricsServer(
  port: number,
  host = '127.0.0.1',
): Promise<{ url: string; close(): Promise<void> } | undefined> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry
      .metrics()
      .then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body))
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  return new Promise((resolve) => {
    server.once('error', (err) => {
      logger.warn({ err: err.message, port }, 'metrics endpoint not started');
      resolve(undefined);
    });
    server.listen(port, host, () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      resolve({
        url: `http://${host}:${actual}/metrics`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
