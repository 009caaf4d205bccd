/**
 * The main job (`fraudflow run`): brings the stack up, starts every worker role and the ingest in this process,
 * streams synthetic transactions through Kafka, shows live progress and ends with a summary.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import pino from 'pino';
import type { CaseConsole } from '../cases/console';
import { startCaseConsole } from '../cases/console';
import type { Config } from '../config';
import { jsonOrUndefined } from '../schemas/json';
import { produceTransactions } from '../generator/produce';
import type { ProduceTransactionsResult } from '../generator/produce';
import { createKafka } from '../kafka/client';
import { startIngest } from '../kafka/ingest';
import { createAssignmentStore } from '../models/assignment';
import { setLogDestination } from '../observability/logger';
import { startMetricsServer } from '../observability/metrics';
import { startOutcomes } from '../outcomes/consumer';
import { outcomeStoreFor } from '../outcomes/read-quality';
import { qualityFigures } from '../replay/quality';
import { Decision } from '../schemas/decision';
import { scoringSettingsFromConfig } from '../scoring/settings';
import { stackUp } from '../stack';
import { connectClient } from '../temporal/client';
import { taskQueuesFor } from '../task-queues';
import { installRuntime, startWorkerSet } from '../worker-set';
import { fmtMs } from '../observability/figures';
import { DecisionStats } from './progress';

export interface RunOptions {
  count: number;
  rate: number;
  fraudShare: number;
  invalidShare: number;
  /** Give up waiting for decisions after this long. @default 600 */
  timeoutSeconds: number;
}

/** The main job's log lines go to a file, so the terminal shows progress and the summary only. */
function logToFile(config: Config): string {
  const file = path.join(config.dataDir, 'logs', `run-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  setLogDestination(pino.destination({ dest: file, sync: false }));
  return file;
}

export async function runMainJob(config: Config, opts: RunOptions): Promise<void> {
  await stackUp(config);
  const logFile = logToFile(config);
  console.log(`fraudflow: logs of this run go to ${logFile}`);
  const started = Date.now();
  // Retried activity failures are expected here and visible in each workflow's history; keep the console readable.
  installRuntime(config, { quiet: true, sdkMetrics: true });
  const metricsServer = await startMetricsServer(config.env.METRICS_PORT, config.env.METRICS_HOST);
  const client = await connectClient(config);
  const assignments = createAssignmentStore(config);
  const workerSet = await startWorkerSet({ config, client, assignments, publisherId: 'run' });
  const ingest = await startIngest({ config, client, settings: scoringSettingsFromConfig(config), assignments });
  // Decisions and the labels that come back, joined for live quality (`fraudflow quality`), as in production.
  const outcomeStore = outcomeStoreFor(config);
  const outcomes = await startOutcomes({ config, store: outcomeStore });
  const kafka = createKafka(config, 'run');
  // Ids read txn-<seed>-<n>: a fresh seed per run tells this run's decisions apart.
  const seed = randomInt(0, 2 ** 31);
  const watch = await watchDecisions(config, kafka, `txn-${seed}-`, started);
  const caseConsole = config.cases.enabled ? await startConsoleIfFree(config, client) : undefined;
  try {
    printBanner(config, opts, metricsServer?.url, caseConsole?.url);
    // The generator's ground truth, kept here: labels never travel with the events into scoring.
    const labels = new Map<string, boolean>();
    let produced = 0;
    const production = produceTransactions(config, {
      onEvent: (event) => labels.set(event.transactionId, event.label?.isFraud === true),
      rate: opts.rate,
      count: opts.count,
      seed,
      fraudShare: opts.fraudShare,
      invalidShare: opts.invalidShare,
      onProgress: (n) => (produced = n),
    });
    const ticker = setInterval(() => {
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      console.log(
        `[${seconds}s] produced ${produced}/${opts.count} | dead-lettered ${watch.deadLettered} | ${watch.stats.line()}`,
      );
    }, 2000);
    const result = await production;
    await waitForDecisions(watch, result, opts.timeoutSeconds).finally(() => clearInterval(ticker));
    printSummary(watch, result, (Date.now() - started) / 1000);
    printQuality(watch.decided, labels);
    printExamples(config, watch.recent);
    printCases(config, watch);
    const complete = watch.stats.count >= result.sent - result.invalid && watch.deadLettered >= result.invalid;
    if (!complete) process.exitCode = 1;
  } finally {
    await caseConsole?.close();
    await ingest.stop();
    await outcomes.stop();
    await outcomeStore.close();
    await workerSet.close();
    await assignments.close();
    await watch.stop();
    await client.connection.close();
    await metricsServer?.close();
  }
}

interface DecisionWatch {
  stats: DecisionStats;
  decided: Decision[];
  /** The last three of this run's decisions, shown as examples. */
  recent: Decision[];
  deadLettered: number;
  /** This run's reviews that opened a case (provisional decisions), and its cases closed while it ran. */
  casesOpened: string[];
  casesClosed: Decision[];
  stop(): Promise<void>;
}

/** Watches the decisions and dead-letter topics from now on, under a group of its own. */
async function watchDecisions(
  config: Config,
  kafka: Kafka,
  runPrefix: string,
  started: number,
): Promise<DecisionWatch> {
  const watcher = kafka.consumer({ groupId: `fraudflow-run-${started}` });
  const watch: DecisionWatch = {
    stats: new DecisionStats(),
    decided: [],
    recent: [],
    deadLettered: 0,
    casesOpened: [],
    casesClosed: [],
    stop: () => watcher.disconnect(),
  };
  const joined = new Promise<void>((resolve) => watcher.on(watcher.events.GROUP_JOIN, () => resolve()));
  await watcher.connect();
  await watcher.subscribe({
    topics: [config.kafka.topics.decisions, config.kafka.topics.deadLetter],
    fromBeginning: false,
  });
  await watcher.run({
    eachMessage: ({ topic, message }) => {
      if (topic === config.kafka.topics.deadLetter) {
        watch.deadLettered++;
        return Promise.resolve();
      }
      const parsed = Decision.safeParse(jsonOrUndefined(message.value?.toString('utf8')));
      // Only this run's transactions: decisions of earlier runs may still be arriving.
      if (!parsed.success || !parsed.data.transactionId.startsWith(runPrefix)) return Promise.resolve();
      const decision = parsed.data;
      // A case's final decision is the second for its transaction: counted as a closed case, not a new decision.
      if (decision.case) {
        watch.casesClosed.push(decision);
        return Promise.resolve();
      }
      if (decision.stage === 'provisional') {
        watch.casesOpened.push(decision.transactionId);
        console.log(
          `case opened             ${decision.transactionId} (review, risk ${decision.riskScore.toFixed(2)})`,
        );
      }
      watch.stats.add(decision);
      watch.decided.push(decision);
      watch.recent.push(decision);
      if (watch.recent.length > 3) watch.recent.shift();
      return Promise.resolve();
    },
  });
  await joined;
  return watch;
}

async function waitForDecisions(watch: DecisionWatch, result: ProduceTransactionsResult, timeoutSeconds: number) {
  const expected = result.sent - result.invalid;
  const deadline = Date.now() + timeoutSeconds * 1000;
  while ((watch.stats.count < expected || watch.deadLettered < result.invalid) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
  }
}

function printBanner(config: Config, opts: RunOptions, metricsUrl: string | undefined, consoleUrl?: string): void {
  console.log(`\nfraudflow: streaming ${opts.count} synthetic transactions at ${opts.rate}/s`);
  console.log(`  local model ${config.localModel.model} at ${config.localModel.baseURL}`);
  console.log(`  hosted chain: ${config.hosted.providers.map((p) => `${p.name} (${p.model})`).join(' → ') || 'none'}`);
  console.log(`  every decision in the Temporal UI: ${workflowsUrl(config)}`);
  if (consoleUrl) console.log(`  reviews become cases; work them in the case console: ${consoleUrl}/?open=1`);
  console.log(
    `  outcomes: ${config.kafka.topics.decisions} + ${config.kafka.topics.labels} joined; live quality: fraudflow quality`,
  );
  console.log(
    `  metrics: ${metricsUrl ?? 'off'}; SDK metrics: http://127.0.0.1:${config.env.SDK_METRICS_PORT}/metrics\n`,
  );
}

function workflowsUrl(config: Config): string {
  return `${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`;
}

function printSummary(watch: DecisionWatch, result: ProduceTransactionsResult, seconds: number): void {
  const { stats } = watch;
  const expected = result.sent - result.invalid;
  console.log('\n=== fraudflow run summary ===');
  console.log(`transactions produced   ${result.sent} (${result.invalid} deliberately invalid)`);
  console.log(
    `decisions published     ${stats.count} of ${expected}${stats.count < expected ? '  (timed out waiting)' : ''}`,
  );
  console.log(`dead-lettered           ${watch.deadLettered}`);
  console.log(
    `by decision             approve ${stats.byDecision.approve}, review ${stats.byDecision.review}, decline ${stats.byDecision.decline}`,
  );
  console.log(
    `by path                 rules ${stats.byPath.rules}, local ${stats.byPath.local}, escalated ${stats.byPath.escalated}, fallback ${stats.byPath.fallback}`,
  );
  console.log(
    `produce→decision        p50 ${fmtMs(stats.latency(50))}, p95 ${fmtMs(stats.latency(95))}, p99 ${fmtMs(stats.latency(99))}`,
  );
  console.log(
    `tokens                  ${stats.inputTokens} in, ${stats.outputTokens} out; hosted cost $${stats.costUsd.toFixed(4)}`,
  );
  console.log(`throughput              ${(stats.count / seconds).toFixed(2)} decisions/s over ${seconds.toFixed(1)}s`);
}

function printExamples(config: Config, recent: Decision[]): void {
  for (const d of recent) {
    console.log(
      `example                 ${d.transactionId}: ${d.decision.toUpperCase()} (${d.path}, risk ${d.riskScore.toFixed(2)}) ${workflowsUrl(config)}/${d.workflowId}`,
    );
  }
  console.log(`escalated decisions     ${workflowsUrl(config)}?query=${encodeURIComponent('FraudEscalated = true')}`);
}

/** The case console on its configured address while the run lasts; a port in use (a console already up) is fine. */
async function startConsoleIfFree(config: Config, client: Client): Promise<CaseConsole | undefined> {
  try {
    return await startCaseConsole({
      client,
      taskQueue: taskQueuesFor(config.taskQueuePrefix).cases,
      ...config.cases.console,
    });
  } catch (err) {
    console.log(
      `fraudflow: case console not started here (${(err as Error).message}); \`fraudflow cases serve\` serves one`,
    );
    return undefined;
  }
}

function printCases(config: Config, watch: DecisionWatch): void {
  if (!config.cases.enabled) return;
  const sla = `${(config.cases.slaMs / 3_600_000).toFixed(config.cases.slaMs < 3_600_000 ? 2 : 0)} h`;
  console.log(
    `cases                   ${watch.casesOpened.length} reviews opened a case; ${watch.casesClosed.length} closed during the run; ` +
      `open ones wait for an analyst up to CASE_SLA (${sla}), then ${config.cases.expiryAction}`,
  );
  if (watch.casesOpened.length === 0) return;
  const openQuery = encodeURIComponent("FraudCaseStatus = 'open'");
  console.log(
    `work the cases          fraudflow cases list --open --sort risk, or fraudflow cases serve ` +
      `(http://${config.cases.console.host}:${config.cases.console.port})`,
  );
  console.log(`open cases in the UI    ${workflowsUrl(config)}?query=${openQuery}`);
  console.log(
    '                        (keep `fraudflow worker cases` running so verdicts and expiries publish their final decision)',
  );
}

/** Quality against the generator's labels: what a fraud team would ask of this run first. */
function printQuality(decisions: Decision[], labels: Map<string, boolean>): void {
  const rows = decisions.flatMap((decision) => {
    const isFraud = labels.get(decision.transactionId);
    return isFraud === undefined ? [] : [{ line: 0, decision, label: { isFraud } }];
  });
  const hostedCalls = decisions.flatMap((d) => d.modelCalls.filter((c) => c.tier === 'hosted' && c.outcome === 'ok'));
  const perCall = hostedCalls.length ? hostedCalls.reduce((s, c) => s + c.costUsd, 0) / hostedCalls.length : 0;
  const q = qualityFigures(rows, perCall);
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  console.log(`\n--- quality against the generator's labels (${q.frauds} fraud, ${q.legitimate} legitimate) ---`);
  console.log(`fraud flagged (recall)  ${pct(q.recall)} (review or decline); declined ${pct(q.declineRecall)}`);
  console.log(`decline precision       ${q.outcomes.decline ? pct(q.declinePrecision) : 'n/a (nothing declined)'}`);
  console.log(
    `legitimate declined     ${pct(q.falsePositiveRate)}; to review or decline ${pct(q.reviewOrDeclineFalsePositiveRate)}`,
  );
  console.log(`escalated               ${pct(q.escalationShare)} of transactions`);
  console.log(
    `hosted cost             ${
      perCall > 0
        ? `$${q.hostedCostUsd.toFixed(4)} vs $${q.hostedOnlyCostUsd.toFixed(4)} hosted-only (${pct(q.hostedCostShare)})`
        : 'nothing escalated: $0 (hosted-only would have sent every transaction out)'
    }`,
  );
  console.log('(a small sample: `npm run bench:quality` measures thousands of labelled transactions)');
}
