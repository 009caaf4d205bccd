/**
 * The burst (bench/scenarios/burst.ts) on a production Temporal: the server built from its Go module, on PostgreSQL
 * (TEMPORAL_BACKEND=postgres, port 7243), beside the dev server the `burst` scenario uses. It brings that server up
 * when it does not run (and stops what it started), reports the server's and the database's CPU per decision, and
 * checks what fraudflow needs of the server: the search attributes registered and queryable, and a payload from
 * its history decoded by the codec server as the UI asks for it. A failed check fails the scenario.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import { loadConfig } from '../../src/config';
import type { Config } from '../../src/config';
import { Decision } from '../../src/schemas/decision';
import { fraudSearchAttributes } from '../../src/search-attributes';
import { stackServices, stackUp } from '../../src/stack';
import { versions } from '../../src/stack/layout';
import { alive, readPid, stopProcess } from '../../src/stack/processes';
import { scoringWorkflowId } from '../../src/workflow-ids';
import { processTreeCpuMs } from '../harness';
import type { ScenarioResult } from '../report';
import type { BurstOptions, BurstRun } from './burst';
import { runBurst } from './burst';

export async function runBurstOnPostgres(opts: BurstOptions): Promise<ScenarioResult> {
  const env = { ...opts.env, TEMPORAL_BACKEND: 'postgres' };
  const config = loadConfig({ ...process.env, ...env });
  const ours = stackServices(config).filter((s) => s.name === 'postgres' || s.name === 'temporal-server');
  const wasRunning = new Set(ours.filter((s) => alive(s.pidFile)()).map((s) => s.name));
  try {
    opts.log(`burst-postgres: bringing up the Temporal server ${versions.temporalServer} on PostgreSQL`);
    await stackUp(config, { log: opts.log });
    const pids = ours.map((s) => readPid(s.pidFile)?.pid ?? 0);
    const result = await runBurst({
      ...opts,
      env,
      serverCpuSeconds: () => pids.reduce((sum, pid) => sum + (processTreeCpuMs(pid) ?? 0), 0) / 1000,
      verify: verifyServer,
    });
    return {
      ...result,
      id: 'burst-postgres',
      description: `${result.description}; Temporal server ${versions.temporalServer} on PostgreSQL ${versions.postgres}`,
    };
  } finally {
    // Stop only what this scenario started, the server before its store.
    for (const s of [...ours].reverse()) {
      if (!wasRunning.has(s.name) && (await stopProcess(s.pidFile))) opts.log(`burst-postgres: stopped ${s.name}`);
    }
  }
}

/** The checks; throws on the first that fails, returns what they found. */
async function verifyServer(run: BurstRun): Promise<string> {
  const attributes = await checkSearchAttributes(run);
  const decoded = await checkDecodedPayload(run);
  return `${attributes}; ${decoded}`;
}

async function checkSearchAttributes({ config, client, taskQueue }: BurstRun): Promise<string> {
  const { namespace } = config.temporal;
  const listed = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = fraudSearchAttributes.filter((k) => !(k.name in (listed.customAttributes ?? {})));
  if (missing.length > 0) throw new Error(`search attributes missing: ${missing.map((k) => k.name).join(', ')}`);
  // Every decided workflow upserted its decision: a visibility query on the custom attribute finds them all.
  const scoring = `TaskQueue = '${taskQueue}' AND WorkflowType = 'scoreTransactionWorkflow'`;
  const total = (await client.workflow.count(`${scoring} AND ExecutionStatus = 'Completed'`)).count;
  const withDecision = (await client.workflow.count(`${scoring} AND FraudDecision IN ('approve', 'review', 'decline')`))
    .count;
  if (total === 0 || withDecision !== total) {
    throw new Error(`FraudDecision is set on ${withDecision} of ${total} completed scoring workflows`);
  }
  return `${fraudSearchAttributes.length} search attributes registered, FraudDecision on all ${total} completed`;
}

/**
 * The decision in one workflow's history is ciphertext on the server (when payloads are encrypted); the codec
 * server, asked as the UI asks (namespace path, origin, token), gives back the Decision.
 */
async function checkDecodedPayload({ config, client, decided }: BurstRun): Promise<string> {
  const transactionId = [...decided][0];
  if (!transactionId) throw new Error('no decided transaction to read back');
  const history = await client.workflowService.getWorkflowExecutionHistory({
    namespace: config.temporal.namespace,
    execution: { workflowId: scoringWorkflowId(transactionId) },
  });
  const completed = history.history?.events?.find((e) => e.workflowExecutionCompletedEventAttributes);
  const stored = completed?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
  if (!stored) throw new Error(`no result payload in the history of ${scoringWorkflowId(transactionId)}`);
  const encoding = Buffer.from(stored.metadata?.encoding ?? new Uint8Array()).toString('utf8');
  if (config.codec.enabled && encoding !== 'binary/encrypted') {
    throw new Error(`the stored decision is ${encoding}, not binary/encrypted`);
  }
  const decision = Decision.parse(defaultPayloadConverter.fromPayload(await decodeAsTheUi(config, stored)));
  if (decision.transactionId !== transactionId) {
    throw new Error(`decoded decision is for ${decision.transactionId}, not ${transactionId}`);
  }
  return `one stored decision (${encoding}) decoded by the codec server`;
}

async function decodeAsTheUi(config: Config, stored: Payload): Promise<Payload> {
  const b64 = (bytes?: Uint8Array | null) => Buffer.from(bytes ?? new Uint8Array()).toString('base64');
  const metadata = Object.fromEntries(Object.entries(stored.metadata ?? {}).map(([k, v]) => [k, b64(v)]));
  const { namespace } = config.temporal;
  const res = await fetch(`${config.codec.serverUrl}/${namespace}/decode`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-namespace': namespace,
      ...(config.codec.corsOrigins[0] ? { origin: config.codec.corsOrigins[0] } : {}),
      ...(config.codec.serverToken ? { authorization: `Bearer ${config.codec.serverToken}` } : {}),
    },
    body: JSON.stringify({ payloads: [{ metadata, data: b64(stored.data) }] }),
  });
  if (!res.ok) throw new Error(`the codec server answered ${res.status}: ${await res.text()}`);
  const [payload] = ((await res.json()) as { payloads: Array<{ metadata: Record<string, string>; data?: string }> })
    .payloads;
  if (!payload) throw new Error('the codec server returned no payload');
  const bytes = (s?: string) => new Uint8Array(Buffer.from(s ?? '', 'base64'));
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata).map(([k, v]) => [k, bytes(v)])),
    data: bytes(payload.data),
  };
}
