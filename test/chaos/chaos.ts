/**
 * The chaos run: the whole pipeline as separate processes (workers, ingest) on the real stack, while workers are
 * SIGKILLed and restarted, the Temporal dev server and the Kafka broker are each restarted once, and a fault
 * proxy breaks 20% or more of model calls. It then checks that every valid transaction has exactly one decision
 * (duplicates on the topic must be identical copies), each of the exact number of invalid messages is dead-lettered
 * and nothing else is, nothing is lost and no workflow is left running. `npm run chaos` runs the full version; the
 * test suite runs a short one.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomInt, randomUUID } from 'node:crypto';
import path from 'node:path';
import { connectClient } from '../../src/temporal/client';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import { produceTransactions } from '../../src/generator/produce';
import { createKafka } from '../../src/kafka/client';
import { readKafkaRange } from '../../src/replay/kafka-source';
import type { Decision } from '../../src/schemas/decision';
import { stackServices, stackUp } from '../../src/stack';
import { stopProcess } from '../../src/stack/processes';
import { taskQueuesFor } from '../../src/task-queues';
import type { FaultProxy, FaultRates } from '../../src/testing/fault-proxy';
import { startFaultProxy } from '../../src/testing/fault-proxy';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import type { DeadLetterTally } from './dead-letters';
import { tallyDeadLetter } from './dead-letters';

export interface ChaosOptions {
  /** Valid transactions to score (the stall adds five more). */
  count: number;
  /**
   * Deliberately invalid messages sent besides the valid ones: an exact count, spread evenly through the run, so
   * the report can be checked against it exactly. @default 2% of `count`, rounded
   */
  invalid?: number;
  /**
   * Generator seed. A fresh one per run by default: card histories in the feature store and `score-<transactionId>`
   * workflow ids outlive a run, so a reused seed would score this run against the last one's cards. No check
   * depends on what the seed draws (the counts are chosen); the report carries it, so a failing run's events can be
   * generated again.
   * @default a random 32-bit seed
   */
  seed?: number;
  /** Local model: the real Ollama, or an instant OpenAI-compatible stand-in (for large N). */
  localModel: 'ollama' | 'instant';
  /** Fault rates per model call; their sum is the injected share. */
  faults?: FaultRates;
  /** Seconds between worker SIGKILLs (a restart bundles workflows anew, ~5 s here). @default 20 */
  killEverySeconds?: number;
  restartTemporal?: boolean;
  restartKafka?: boolean;
  /**
   * Halfway, stall the ingest's consumer (SIGUSR2 pauses it behind the ingest's back) and produce a few more
   * transactions: the stall watchdog must replace the consumer for them to be decided. @default true
   */
  injectStall?: boolean;
  /** Give up waiting after this long. @default 1800 */
  timeoutSeconds?: number;
  /**
   * Once every transaction is decided, how long workflows still running (a publish being retried) may take, in
   * seconds. @default 120
   */
  settleSeconds?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  valid: number;
  invalid: number;
  decided: number;
  /** Extra copies of a decision on the topic (at-least-once publishing); all identical to the first. */
  duplicateCopies: number;
  /** Copies that differed from the first decision for the same transaction: must be 0. */
  conflictingCopies: number;
  /** Invalid messages found on the dead-letter topic, each counted once: must equal `invalid`. */
  deadLettered: number;
  /** Extra copies of those dead letters (at-least-once, e.g. across a consumer restart). */
  deadLetterCopies: number;
  /** Dead-letter reasons of the invalid messages, one per message. */
  deadLetterReasons: Record<string, number>;
  /** Dead letters that are not one of the invalid messages (a valid event refused, an unreadable record): must be 0. */
  otherDeadLetters: number;
  lost: number;
  runningAfterSettle: number;
  workerKills: number;
  temporalRestarts: number;
  kafkaRestarts: number;
  stallsInjected: number;
  /** Consumers the ingest replaced (from its log); at least the stalls injected. */
  consumerRestarts: number;
  faultsInjected: Record<string, number>;
  modelCalls: number;
  faultShare: number;
  drainSeconds: number;
  totalSeconds: number;
  /** Decisions (first copies) by path: `rules`, `local`, `escalated`, `fallback`. */
  decisionsByPath: Record<string, number>;
  /** The model calls recorded in the decisions, by outcome (`ok`, `invalid_output`, `error`, `skipped`). */
  modelCallOutcomes: Record<string, number>;
  /** Decisions on path `local` or `escalated` without a model call whose outcome is `ok`: must be 0. */
  modelPathWithoutOkCall: number;
}

/** 30% of model calls fail in some way, so even a short run's realized share stays above 20%. */
export const defaultFaults: FaultRates = {
  serverError: 0.08,
  rateLimit: 0.06,
  reset: 0.05,
  malformed: 0.05,
  hang: 0.03,
  slow: 0.03,
};

const root = path.join(__dirname, '..', '..');

function spawnRole(args: string[], env: NodeJS.ProcessEnv, log: (l: string) => void): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${args.join(' ')}]`;
  child.stderr?.on('data', (d: Buffer) => {
    const text = d.toString().trim();
    if (/error/i.test(text) && !/ECONNREFUSED|Connection dropped|transport error|UNAVAILABLE/i.test(text)) {
      log(`${prefix} ${text.split('\n')[0]?.slice(0, 200)}`);
    }
  });
  child.stdout?.resume();
  return child;
}

/** Counts the consumer restarts the ingest logs (`ingest consumer stalled; restarting it`) on its stdout. */
function countConsumerRestarts(ingest: ChildProcess): () => number {
  let restarts = 0;
  let partial = '';
  ingest.stdout?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    restarts += lines.filter((l) => l.includes('ingest consumer stalled; restarting it')).length;
  });
  return () => restarts;
}

/** Exited already, by itself or by a signal (a signalled child has a null exitCode). */
function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function killHard(child: ChildProcess | undefined): Promise<void> {
  if (!child || exited(child)) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function restartService(config: Config, name: 'temporal' | 'kafka'): Promise<void> {
  const service = stackServices(config).find((s) => s.name === name);
  if (!service) throw new Error(`no stack service ${name}`);
  await stopProcess(service.pidFile, 20_000);
  service.start();
  await service.ready(180_000);
}

/**
 * Deterministic instant "local model". Under an embedding-probe policy (the default) it embeds each first-pass
 * text by its hash; under a generated-score policy a third of transactions are ambiguous and the rest confident
 * either way.
 */
function instantLocalBehaviour(server: HostedTestServer): void {
  server.setBehaviour((req) => {
    const h = createHash('sha256').update(req.lastUserText).digest()[0] ?? 0;
    if (h % 3 === 0) return { kind: 'answer', riskScore: 0.55, confidence: 0.5 };
    return h % 2
      ? { kind: 'answer', riskScore: 0.1, confidence: 0.9 }
      : { kind: 'answer', riskScore: 0.9, confidence: 0.9 };
  });
}

/**
 * Whether the models, not the safety net, decided: at least 70% of decisions came from a model answer (path
 * `local` or `escalated`), each of them backed by an `ok` model call. A run where every call failed and everything
 * went to fallback review fails this. Some fallbacks are legitimate under chaos (a local circuit open while the
 * budget ledger cannot be read), so it is a share, not all.
 */
export function modelsDecided(report: ChaosReport): boolean {
  return report.decided > 0 && decidedByModels(report) >= 0.7 * report.decided && report.modelPathWithoutOkCall === 0;
}

/** Decisions on path `local` or `escalated`. */
export function decidedByModels(report: ChaosReport): number {
  return (report.decisionsByPath.local ?? 0) + (report.decisionsByPath.escalated ?? 0);
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const base = loadConfig();
  await stackUp(base, { log: () => undefined });
  const started = Date.now();
  const id = randomUUID().slice(0, 8);
  const topics = {
    transactions: `chaos.${id}.transactions`,
    decisions: `chaos.${id}.decisions`,
    deadLetter: `chaos.${id}.dlq`,
  };
  const prefix = `chaos-${id}`;

  const hosted = await startHostedTestServer({ apiKey: 'chaos-key' });
  hosted.setBehaviour(() => ({ kind: 'answer', riskScore: 0.8, confidence: 0.9, reasons: ['stand-in frontier'] }));
  const instantLocal = opts.localModel === 'instant' ? await startHostedTestServer() : undefined;
  if (instantLocal) instantLocalBehaviour(instantLocal);
  const faults = opts.faults ?? defaultFaults;
  const localUpstream = instantLocal ? instantLocal.baseURL.replace(/\/v1$/, '') : `http://${base.env.OLLAMA_HOST}`;
  const proxies: FaultProxy[] = [
    await startFaultProxy({ upstream: localUpstream, seed: 7, faults, slowMs: 1500 }),
    await startFaultProxy({ upstream: hosted.baseURL.replace(/\/v1$/, ''), seed: 11, faults, slowMs: 1500 }),
  ];
  const [localProxy, hostedProxy] = proxies as [FaultProxy, FaultProxy];

  const env: NodeJS.ProcessEnv = {
    TOPIC_TRANSACTIONS: topics.transactions,
    TOPIC_DECISIONS: topics.decisions,
    TOPIC_DEAD_LETTER: topics.deadLetter,
    TASK_QUEUE_PREFIX: prefix,
    METRICS_PORT: '0',
    SDK_METRICS_PORT: '0',
    INGEST_GROUP_ID: `chaos-${id}`,
    INGEST_STALL_TIMEOUT_MS: '8000',
    LOCAL_MODEL_BASE_URL: `${localProxy.url}/v1`,
    LOCAL_MODEL_TIMEOUT_MS: '8000',
    HOSTED_MODEL_TIMEOUT_MS: '5000',
    HOSTED_MODEL_MAX_ATTEMPTS: '4',
    LOCAL_MODEL_MAX_ATTEMPTS: '4',
    MODEL_RETRY_INITIAL_MS: '200',
    MODEL_RETRY_MAX_MS: '2000',
    DECISION_DEADLINE_MS: '300000',
    HOSTED_DAILY_BUDGET_USD: '1000',
    HOSTED_SCORING_CONCURRENCY: '16',
    CHAOS_HOSTED_KEY: 'chaos-key',
    HOSTED_PROVIDERS: JSON.stringify([
      {
        name: 'chaos-frontier',
        baseURL: `${hostedProxy.url}/v1`,
        apiKeyEnv: 'CHAOS_HOSTED_KEY',
        model: 'frontier',
        inputUsdPerMTok: 2.5,
        outputUsdPerMTok: 10,
      },
    ]),
    ...(instantLocal ? { LOCAL_SCORING_CONCURRENCY: '16' } : {}),
  };
  const config = loadConfig({ ...process.env, ...env });

  const kafka = createKafka(config, `chaos-${id}`);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: topics.transactions, numPartitions: 6 },
      { topic: topics.decisions, numPartitions: 6 },
      { topic: topics.deadLetter, numPartitions: 1 },
    ],
  });
  await admin.disconnect();

  // Everything published, copies included, re-read from the topics on each scan. A long-lived consumer can
  // stall across a broker restart; a fresh reader up to the high watermark cannot.
  const firstByTxn = new Map<string, string>();
  let duplicateCopies = 0;
  let conflictingCopies = 0;
  // The invalid messages' keys, known once they are produced; dead letters are matched to them by original key.
  let invalidKeys = new Set<string>();
  let letters: DeadLetterTally = { reasonByKey: new Map(), copies: 0, other: 0 };
  let byPath: Record<string, number> = {};
  let callOutcomes: Record<string, number> = {};
  let modelPathWithoutOk = 0;
  const scan = async () => {
    const first = new Map<string, string>();
    let dups = 0;
    let conflicts = 0;
    const paths: Record<string, number> = {};
    const outcomes: Record<string, number> = {};
    let unbacked = 0;
    for await (const m of readKafkaRange(kafka, { kind: 'kafka', topic: topics.decisions }, 15_000)) {
      const raw = m.value?.toString('utf8') ?? '';
      const decision = JSON.parse(raw) as Decision;
      const seen = first.get(decision.transactionId);
      if (seen === undefined) {
        first.set(decision.transactionId, raw);
        paths[decision.path] = (paths[decision.path] ?? 0) + 1;
        for (const call of decision.modelCalls) outcomes[call.outcome] = (outcomes[call.outcome] ?? 0) + 1;
        const byModel = decision.path === 'local' || decision.path === 'escalated';
        if (byModel && !decision.modelCalls.some((c) => c.outcome === 'ok')) unbacked++;
      } else if (seen === raw) dups++;
      else conflicts++;
    }
    const tally: DeadLetterTally = { reasonByKey: new Map(), copies: 0, other: 0 };
    for await (const m of readKafkaRange(kafka, { kind: 'kafka', topic: topics.deadLetter }, 15_000)) {
      tallyDeadLetter(tally, m.value, invalidKeys);
    }
    firstByTxn.clear();
    for (const [k, v] of first) firstByTxn.set(k, v);
    duplicateCopies = dups;
    conflictingCopies = conflicts;
    letters = tally;
    byPath = paths;
    callOutcomes = outcomes;
    modelPathWithoutOk = unbacked;
  };

  let worker = spawnRole(['worker', 'all'], env, log);
  const ingest = spawnRole(['ingest'], env, log);
  const consumerRestarts = countConsumerRestarts(ingest);
  let workerKills = 0;
  let stallsInjected = 0;
  let temporalRestarts = 0;
  let kafkaRestarts = 0;

  const seed = opts.seed ?? randomInt(0, 2 ** 32);
  const invalidCount = opts.invalid ?? Math.round(opts.count * 0.02);
  log(`chaos ${id}: producing ${opts.count} transactions and ${invalidCount} invalid messages (seed ${seed})`);
  const produced = await produceTransactions(config, {
    rate: 0,
    count: opts.count + invalidCount,
    invalidCount,
    fraudShare: 0.1,
    seed,
  });
  invalidKeys = new Set(produced.invalidKeys);
  let valid = produced.sent - produced.invalid;
  const produceDone = Date.now();
  log(`chaos ${id}: produced ${valid} valid and ${produced.invalid} invalid in ${produced.seconds.toFixed(1)}s`);

  const deadline = Date.now() + (opts.timeoutSeconds ?? 1800) * 1000;
  const killEvery = (opts.killEverySeconds ?? 20) * 1000;
  let lastKill = Date.now();
  let lastLog = 0;
  let lastScan = 0;
  const done = () => firstByTxn.size >= valid && letters.reasonByKey.size === produced.invalid;
  while (!done() && Date.now() < deadline) {
    if (Date.now() - lastScan > 3000) {
      // A scan that hangs (a client stuck across the broker restart) is abandoned and retried.
      await Promise.race([
        scan(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('scan timed out')), 45_000)),
      ]).catch((err: unknown) => log(`chaos ${id}: scan failed (${(err as Error).message}); retrying`));
      lastScan = Date.now();
    }
    const progress = firstByTxn.size / valid;
    if (exited(worker)) {
      log(`chaos ${id}: worker exited by itself (${worker.exitCode ?? worker.signalCode}); starting another`);
      worker = spawnRole(['worker', 'all'], env, log);
    }
    if (Date.now() - lastKill > killEvery) {
      await killHard(worker);
      workerKills++;
      worker = spawnRole(['worker', 'all'], env, log);
      lastKill = Date.now();
    }
    if (opts.restartTemporal !== false && temporalRestarts === 0 && progress >= 0.3) {
      log(`chaos ${id}: restarting the Temporal dev server at ${Math.round(progress * 100)}%`);
      await restartService(config, 'temporal');
      temporalRestarts++;
    }
    if (opts.restartKafka !== false && kafkaRestarts === 0 && progress >= 0.6) {
      log(`chaos ${id}: restarting the Kafka broker at ${Math.round(progress * 100)}%`);
      await restartService(config, 'kafka');
      kafkaRestarts++;
    }
    if (opts.injectStall !== false && stallsInjected === 0 && progress >= 0.45) {
      log(`chaos ${id}: stalling the ingest's consumer (SIGUSR2) at ${Math.round(progress * 100)}%, then 5 more`);
      ingest.kill('SIGUSR2');
      stallsInjected++;
      // Another seed, so these five are new transactionIds.
      const more = await produceTransactions(config, { rate: 0, count: 5, fraudShare: 0.1, seed: (seed + 1) >>> 0 });
      produced.transactionIds.push(...more.transactionIds);
      valid += more.sent;
    }
    if (Date.now() - lastLog > 5000) {
      log(
        `chaos ${id}: ${firstByTxn.size}/${valid} decided, ${letters.reasonByKey.size}/${produced.invalid} dead-lettered, ${workerKills} worker kills`,
      );
      lastLog = Date.now();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const drainSeconds = (Date.now() - produceDone) / 1000;

  // Settle: no more kills, and scoring workflows still running on this run's queues get time to finish. A worker
  // killed mid-publish leaves its workflows waiting out the publish's 30 s start-to-close timeout before a retry
  // completes them (their decision is already on the topic), so the wait is bounded by settleSeconds, not 3 s.
  const client = await connectClient(config);
  const countRunning = async () =>
    (
      await client.workflow.count(
        `TaskQueue = '${taskQueuesFor(prefix).orchestration}' AND WorkflowType = 'scoreTransactionWorkflow' AND ExecutionStatus = 'Running'`,
      )
    ).count;
  const settleBy = Date.now() + (opts.settleSeconds ?? 120) * 1000;
  let running = await countRunning();
  while (running > 0 && Date.now() < settleBy) {
    if (exited(worker)) worker = spawnRole(['worker', 'all'], env, log);
    await new Promise((r) => setTimeout(r, 2000));
    running = await countRunning();
  }
  // Rescan: late duplicates count too.
  await Promise.race([scan(), new Promise((r) => setTimeout(r, 60_000))]).catch(() => undefined);
  // Counted; now nothing of this run may outlive it on the dev server (the day's budget ledger included).
  for await (const wf of client.workflow.list({
    query: `TaskQueue = '${taskQueuesFor(prefix).orchestration}' AND ExecutionStatus = 'Running'`,
  })) {
    await client.workflow
      .getHandle(wf.workflowId, wf.runId)
      .terminate('chaos run finished')
      .catch(() => undefined);
  }

  // SIGTERM drains; a client stuck across the broker restart gets 15 s before SIGKILL.
  await Promise.all(
    [ingest, worker].map(async (child) => {
      if (exited(child)) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
      if (!exited(child)) await killHard(child);
    }),
  );
  await client.connection.close();
  const faultsInjected: Record<string, number> = {};
  let modelCalls = 0;
  for (const p of proxies) {
    for (const [k, v] of Object.entries(p.counts)) {
      faultsInjected[k] = (faultsInjected[k] ?? 0) + v;
      modelCalls += v;
    }
    await p.close();
  }
  await hosted.close();
  await instantLocal?.close();
  const forwarded = faultsInjected.forwarded ?? 0;
  delete faultsInjected.forwarded;

  const deadLetterReasons: Record<string, number> = {};
  for (const reason of letters.reasonByKey.values()) deadLetterReasons[reason] = (deadLetterReasons[reason] ?? 0) + 1;

  return {
    seed,
    valid,
    invalid: produced.invalid,
    decided: firstByTxn.size,
    duplicateCopies,
    conflictingCopies,
    deadLettered: letters.reasonByKey.size,
    deadLetterCopies: letters.copies,
    deadLetterReasons,
    otherDeadLetters: letters.other,
    lost: produced.transactionIds.filter((t) => !firstByTxn.has(t)).length,
    runningAfterSettle: running,
    workerKills,
    temporalRestarts,
    kafkaRestarts,
    stallsInjected,
    consumerRestarts: consumerRestarts(),
    faultsInjected,
    modelCalls,
    faultShare: modelCalls ? (modelCalls - forwarded) / modelCalls : 0,
    drainSeconds,
    totalSeconds: (Date.now() - started) / 1000,
    decisionsByPath: byPath,
    modelCallOutcomes: callOutcomes,
    modelPathWithoutOkCall: modelPathWithoutOk,
  };
}
