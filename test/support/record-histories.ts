/**
 * `npm run histories:record`: records the histories of this release's workflows into
 * `test/histories/<package version>-<UTC date>/`, one JSON file per workflow (Temporal's history JSON, as the CLI
 * and UI export it). test/workflows/history-replay.test.ts replays every recording against the current workflow
 * code, so a change to workflows/ that would break a workflow still open from an older release fails there.
 *
 * The workflows run on the real stack with real workers, as the tests run them: scripted stand-ins answer for the
 * local model and two hosted providers, so each scoring path is taken on purpose. Payloads are recorded without
 * encryption: codec keys belong to one deployment, and a history sealed with them could not be read on a fresh clone.
 * An existing recording is never overwritten unless `--replace` is given.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import prettier from 'prettier';
import { z } from 'zod';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { logger } from '../../src/observability/logger';
import { Decision, ScoringReceipt } from '../../src/schemas/decision';
import type { ScoringPath } from '../../src/schemas/decision';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import type { TransactionEventInput } from '../../src/schemas/transaction-event';
import type { Behaviour, HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import {
  caseWorkflowId,
  replayChunkWorkflowId,
  replayWorkflowId,
  resolveCaseUpdate,
  scoringWorkflowId,
} from '../../workflows';
import type { replayWorkflow, scoreTransactionWorkflow, workCaseWorkflow } from '../../workflows';
import { historyToJSON, recordedHistoriesDir } from './history-json';
import type { TestPipeline } from './pipeline';
import { sampleTransaction, startTestPipeline } from './pipeline';

/** The model stand-ins a recording scripts: the local first pass and the hosted chain, in order. */
interface ModelStandIns {
  local: HostedTestServer;
  providerA: HostedTestServer;
  providerB: HostedTestServer;
}

/** One scoring workflow to record: how the models answer, and the path its decision must take. */
interface ScoringScenario {
  name: string;
  path: ScoringPath;
  local: Behaviour;
  providerA?: Behaviour;
  providerB?: Behaviour;
  event?: Partial<TransactionEventInput>;
  /** Scores a challenger in shadow after the decision (the `shadow-scoring-1` patch). */
  shadow?: boolean;
}

const everyStandIn = (models: ModelStandIns): HostedTestServer[] => [models.local, models.providerA, models.providerB];

const answer = (riskScore: number, confidence: number): Behaviour => ({ kind: 'answer', riskScore, confidence });

/** Thresholds are the scripted policy's (test/support/policies/generated-score.json): ambiguous in [0.35, 0.75]. */
const scoringScenarios: ScoringScenario[] = [
  { name: 'score-transaction-local', path: 'local', local: answer(0.05, 0.9) },
  { name: 'score-transaction-escalated', path: 'escalated', local: answer(0.55, 0.9), providerA: answer(0.93, 0.95) },
  {
    name: 'score-transaction-failover',
    path: 'escalated',
    local: answer(0.55, 0.9),
    providerA: { kind: 'status', status: 400, message: 'context length exceeded' },
    providerB: answer(0.2, 0.9),
  },
  {
    name: 'score-transaction-rules',
    path: 'rules',
    local: answer(0.01, 0.99),
    event: { merchant: { id: 'm-kp', name: 'Blocked Traders', mcc: '5999', country: 'KP' } },
  },
  {
    name: 'score-transaction-fallback',
    path: 'fallback',
    local: { kind: 'status', status: 400, message: 'model not loaded' },
    providerA: { kind: 'status', status: 401 },
    providerB: { kind: 'status', status: 403 },
  },
  { name: 'score-transaction-shadow', path: 'local', local: answer(0.05, 0.9), shadow: true },
];

const PackageJson = z.object({ version: z.string().min(1) });

/** A recording in progress: written to `staging`, moved to `target` once every workflow is recorded. */
interface Recording {
  target: string;
  staging: string;
  format: prettier.Options;
}

/** `test/histories/<version>-<yyyy-mm-dd>`: a new release or day adds a folder, never replaces an older one. */
async function startRecording(scratch: string, replace: boolean): Promise<Recording> {
  const json: unknown = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const parsed = PackageJson.safeParse(json);
  if (!parsed.success) throw new Error(`package.json: ${z.prettifyError(parsed.error)}`);
  const target = path.join(recordedHistoriesDir, `${parsed.data.version}-${new Date().toISOString().slice(0, 10)}`);
  if (fs.existsSync(target) && !replace) {
    throw new Error(`${path.relative(process.cwd(), target)} exists: pass --replace to record it again`);
  }
  const staging = path.join(scratch, 'recording');
  fs.mkdirSync(staging);
  const format = (await prettier.resolveConfig(path.join(target, 'history.json'))) ?? {};
  return { target, staging, format };
}

function finishRecording(recording: Recording): void {
  fs.rmSync(recording.target, { recursive: true, force: true });
  fs.cpSync(recording.staging, recording.target, { recursive: true });
  console.log(`recorded into ${path.relative(process.cwd(), recording.target)}`);
}

/** Writes one workflow's history as Temporal's history JSON, formatted as the repository formats JSON. */
async function saveHistory(pipeline: TestPipeline, recording: Recording, workflowId: string, name: string) {
  const history = await pipeline.client.workflow.getHandle(workflowId).fetchHistory();
  const text = await prettier.format(historyToJSON(history), { ...recording.format, parser: 'json' });
  fs.writeFileSync(path.join(recording.staging, `${name}.json`), text);
  console.log(`${name}.json: ${history.events?.length ?? 0} events, ${(Buffer.byteLength(text) / 1024).toFixed(1)} KB`);
}

async function recordScoring(
  pipeline: TestPipeline,
  models: ModelStandIns,
  scenario: ScoringScenario,
  recording: Recording,
) {
  for (const server of everyStandIn(models)) server.reset();
  const { local, providerA, providerB } = scenario;
  models.local.setBehaviour(() => local);
  if (providerA) models.providerA.setBehaviour(() => providerA);
  if (providerB) models.providerB.setBehaviour(() => providerB);
  const event = TransactionEvent.parse(sampleTransaction(scenario.event));
  const workflowId = scoringWorkflowId(event.transactionId);
  // The challenger: another tag on the same stand-in, with the scripted policy.
  const shadow = { model: 'fraudflow-challenger:histories', policyFileHash: pipeline.settings.policyFileHash };
  const settings = scenario.shadow
    ? { ...pipeline.settings, shadow: { ...shadow, timeoutMs: 5000 } }
    : pipeline.settings;
  const decision = ScoringReceipt.parse(
    await pipeline.client.workflow.execute<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
      taskQueue: pipeline.settings.taskQueues.orchestration,
      workflowId,
      args: [{ event, source: { kind: 'api' }, settings }],
    }),
  );
  if (decision.path !== scenario.path) {
    throw new Error(`${scenario.name}: the decision took path ${decision.path}, not ${scenario.path}`);
  }
  if (scenario.shadow && decision.shadow?.outcome !== 'ok') {
    throw new Error(`${scenario.name}: the challenger's shadow score is ${JSON.stringify(decision.shadow)}, not ok`);
  }
  await saveHistory(pipeline, recording, workflowId, scenario.name);
}

/**
 * Two reviews and their cases (the `case-per-review-1` patch): one resolved by an analyst's `resolveCase` update,
 * one left to expire on a two-second SLA.
 */
async function recordCases(pipeline: TestPipeline, models: ModelStandIns, recording: Recording) {
  for (const server of everyStandIn(models)) server.reset();
  // Above the escalation band and below decline: the scripted policy reviews it on the first pass.
  models.local.setBehaviour(() => answer(0.78, 0.9));
  const cases = pipeline.settings.cases;
  if (!cases) throw new Error('the recording pipeline must have cases enabled');
  for (const [name, slaMs] of [
    ['resolved', 3_600_000],
    ['expired', 2000],
  ] as const) {
    const event = TransactionEvent.parse(sampleTransaction());
    const decision = ScoringReceipt.parse(
      await pipeline.client.workflow.execute<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
        taskQueue: pipeline.settings.taskQueues.orchestration,
        workflowId: scoringWorkflowId(event.transactionId),
        args: [{ event, source: { kind: 'api' }, settings: { ...pipeline.settings, cases: { ...cases, slaMs } } }],
      }),
    );
    if (decision.stage !== 'provisional') throw new Error(`case ${name}: the decision is ${decision.decision}`);
    const handle = pipeline.client.workflow.getHandle<typeof workCaseWorkflow>(caseWorkflowId(event.transactionId));
    if (name === 'resolved') {
      await handle.executeUpdate(resolveCaseUpdate, {
        args: [{ transactionId: event.transactionId, verdict: 'fraud', analyst: 'analyst-1', note: 'card reported' }],
      });
    }
    const final = Decision.parse(await handle.result());
    if (final.stage !== 'final') throw new Error(`case ${name}: no final decision`);
    if (name === 'resolved')
      await saveHistory(pipeline, recording, scoringWorkflowId(event.transactionId), 'score-transaction-review');
    await saveHistory(pipeline, recording, caseWorkflowId(event.transactionId), `work-case-${name}`);
  }
}

/** A four-row replay in two chunks, first passes as local activities (as `fraudflow replay` runs them). */
async function recordReplay(pipeline: TestPipeline, models: ModelStandIns, recording: Recording, scratch: string) {
  for (const server of everyStandIn(models)) server.reset();
  models.local.setBehaviour(() => answer(0.1, 0.9));
  const file = path.join(scratch, 'replay.jsonl');
  const generator = createTransactionGenerator({ seed: 20261128, fraudShare: 0.3, idPrefix: 'history' });
  fs.writeFileSync(file, `${Array.from({ length: 4 }, () => JSON.stringify(generator.next())).join('\n')}\n`);
  const replayId = `history-${randomUUID().slice(0, 8)}`;
  const progress = await pipeline.client.workflow.execute<typeof replayWorkflow>('replayWorkflow', {
    workflowId: replayWorkflowId(replayId),
    taskQueue: pipeline.settings.taskQueues.orchestration,
    args: [
      {
        replayId,
        source: { kind: 'file', path: file, format: 'jsonl' },
        settings: { ...pipeline.settings, localFirstPassAsLocalActivity: true },
        options: { chunkSize: 2, chunkParallelism: 2, rowParallelism: 2 },
      },
    ],
  });
  if (progress.scored !== 4 || progress.chunksTotal !== 2) {
    throw new Error(`replay scored ${progress.scored} rows in ${progress.chunksTotal} chunks, not 4 in 2`);
  }
  await saveHistory(pipeline, recording, replayWorkflowId(replayId), 'replay');
  for (const chunk of [0, 1]) {
    await saveHistory(pipeline, recording, replayChunkWorkflowId(replayId, chunk), `replay-chunk-${chunk}`);
  }
}

async function startModelStandIns(): Promise<ModelStandIns> {
  return {
    local: await startHostedTestServer(),
    providerA: await startHostedTestServer({ apiKey: 'key-a' }),
    providerB: await startHostedTestServer({ apiKey: 'key-b' }),
  };
}

function startRecordingPipeline(models: ModelStandIns, scratch: string): Promise<TestPipeline> {
  return startTestPipeline({
    name: 'histories',
    env: {
      PAYLOAD_ENCRYPTION: 'false',
      REPLAY_DIR: path.join(scratch, 'replays'),
      LOCAL_MODEL_BASE_URL: models.local.baseURL,
      LOCAL_MODEL_MAX_ATTEMPTS: '2',
      PROVIDER_A_KEY: 'key-a',
      PROVIDER_B_KEY: 'key-b',
    },
    hostedProviders: [
      { name: 'provider-a', baseURL: models.providerA.baseURL, apiKeyEnv: 'PROVIDER_A_KEY', model: 'frontier-a' },
      { name: 'provider-b', baseURL: models.providerB.baseURL, apiKeyEnv: 'PROVIDER_B_KEY', model: 'frontier-b' },
    ].map((p) => ({ ...p, inputUsdPerMTok: 3, outputUsdPerMTok: 15 })),
  });
}

async function main(): Promise<void> {
  // The recorder's output is its list of files; the workers' per-decision lines would bury it.
  logger.level = process.env.LOG_LEVEL ?? 'warn';
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-histories-'));
  try {
    const recording = await startRecording(scratch, process.argv.includes('--replace'));
    const models = await startModelStandIns();
    const pipeline = await startRecordingPipeline(models, scratch);
    try {
      for (const scenario of scoringScenarios) await recordScoring(pipeline, models, scenario, recording);
      await recordCases(pipeline, models, recording);
      await recordReplay(pipeline, models, recording, scratch);
    } finally {
      await pipeline.close();
      await Promise.all(everyStandIn(models).map((server) => server.close()));
    }
    finishRecording(recording);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
