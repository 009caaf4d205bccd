/**
 * Shared pieces of the benchmark: per-scenario configuration and Kafka topics, an instant (or fixed-latency)
 * OpenAI-compatible model, a watcher that timestamps what lands on a topic, resource sampling and percentiles.
 *
 * Every scenario is isolated: its own topics (`bench.<id>.*`), consumer groups and task-queue prefix.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { Admin, Consumer } from 'kafkajs';
import type { Config } from '../src/config';
import { loadConfig } from '../src/config';
import { createKafka } from '../src/kafka/client';
import { percentile } from '../src/observability/figures';
import { stackServices } from '../src/stack';
import { readPid } from '../src/stack/processes';
import type { TaskQueues } from '../src/task-queues';
import { taskQueuesFor } from '../src/task-queues';
import type { HostedTestServer } from '../src/testing/hosted-provider';
import { startHostedTestServer } from '../src/testing/hosted-provider';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** p50/p95/p99 of a sample (same percentile definition as the main job's DecisionStats). */
export function percentiles(values: number[]): Percentiles | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

/** Items per second from the first to the last timestamp (ms). Undefined below two items. */
export function sustainedRate(times: number[]): number | undefined {
  if (times.length < 2) return undefined;
  let first = Infinity;
  let last = -Infinity;
  for (const t of times) {
    if (t < first) first = t;
    if (t > last) last = t;
  }
  return last > first ? ((times.length - 1) * 1000) / (last - first) : undefined;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Undo steps of a scenario, run last in, first out; one failing does not keep the others from running. */
export class Cleanup {
  private steps: Array<{ what: string; step: () => Promise<unknown> }> = [];
  constructor(private readonly log: (line: string) => void) {}
  add(what: string, step: () => Promise<unknown>): void {
    this.steps.push({ what, step });
  }
  async run(): Promise<void> {
    for (const { what, step } of this.steps.reverse()) {
      await step().catch((err: unknown) => this.log(`  cleanup: ${what} failed: ${(err as Error).message}`));
    }
    this.steps = [];
  }
}

/** A short random id so that re-runs never reuse a topic that Kafka is still deleting. */
export function shortId(): string {
  return randomUUID().slice(0, 6);
}

export interface BenchTopics {
  transactions: string;
  decisions: string;
  deadLetter: string;
}

export interface ScenarioSetup {
  /** `<scenario>-<random>`: names the topics, groups and task queues of this scenario. */
  id: string;
  config: Config;
  topics: BenchTopics;
  taskQueues: TaskQueues;
  ingestGroupId: string;
  /** The environment `config` was loaded from, for the fraudflow processes the scenario starts. */
  env: Record<string, string>;
}

/**
 * The configuration of one scenario: the scenario's defaults, then the user's `--env` overrides, then the
 * isolation settings (topics, group, task-queue prefix), which nothing may override.
 */
export function scenarioSetup(
  scenario: string,
  defaults: Record<string, string>,
  userEnv: Record<string, string>,
): ScenarioSetup {
  const id = `${scenario}-${shortId()}`;
  const topics: BenchTopics = {
    transactions: `bench.${id}.transactions`,
    decisions: `bench.${id}.decisions`,
    deadLetter: `bench.${id}.dlq`,
  };
  const prefix = `bench-${id}`;
  const ingestGroupId = `bench-${id}-ingest`;
  const env: Record<string, string> = {
    ...(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<string, string>),
    ...defaults,
    ...userEnv,
    TOPIC_TRANSACTIONS: topics.transactions,
    TOPIC_DECISIONS: topics.decisions,
    TOPIC_DEAD_LETTER: topics.deadLetter,
    INGEST_GROUP_ID: ingestGroupId,
    TASK_QUEUE_PREFIX: prefix,
  };
  return { id, config: loadConfig(env), topics, taskQueues: taskQueuesFor(prefix), ingestGroupId, env };
}

/** Creates the scenario's topics (partitions from KAFKA_TOPIC_PARTITIONS); `remove` deletes them and the groups. */
export async function createBenchTopics(
  setup: ScenarioSetup,
): Promise<{ admin: Admin; remove(groups: string[]): Promise<void> }> {
  const { config, topics } = setup;
  const admin = createKafka(config, 'bench-admin').admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: topics.transactions, numPartitions: config.kafka.partitions },
      { topic: topics.decisions, numPartitions: config.kafka.partitions },
      { topic: topics.deadLetter, numPartitions: 1 },
    ],
  });
  return {
    admin,
    async remove(groups) {
      await admin.deleteGroups(groups).catch(() => undefined);
      await admin
        .deleteTopics({ topics: [topics.transactions, topics.decisions, topics.deadLetter] })
        .catch(() => undefined);
      await admin.disconnect();
    },
  };
}

/** Waits until a consumer group has joined and been assigned partitions, so production never waits on a rebalance. */
export async function waitForStableGroup(admin: Admin, groupId: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { groups } = await admin.describeGroups([groupId]);
    if (groups[0]?.state === 'Stable' && groups[0].members.length > 0) return;
    if (Date.now() > deadline) throw new Error(`consumer group ${groupId} did not become stable`);
    await sleep(250);
  }
}

/** Receives every message on a topic from the beginning, with the time it arrived here. */
export interface TopicWatcher {
  groupId: string;
  /** Distinct keys received. */
  count: () => number;
  stop: () => Promise<void>;
}

export const watchGroupId = (topic: string) => `${topic}-watch`;

export async function watchTopic(
  config: Config,
  topic: string,
  onMessage: (value: Buffer, receivedAt: number) => void,
): Promise<TopicWatcher> {
  const groupId = watchGroupId(topic);
  const consumer: Consumer = createKafka(config, 'bench-watch').consumer({ groupId, maxWaitTimeInMs: 100 });
  const seen = new Set<string>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: config.kafka.partitions,
    eachMessage: ({ message }) => {
      const receivedAt = Date.now();
      const key = message.key?.toString('utf8') ?? message.offset;
      // At-least-once publishing: a decision may arrive twice; count each transaction once.
      if (message.value && !seen.has(key)) {
        seen.add(key);
        onMessage(message.value, receivedAt);
      }
      return Promise.resolve();
    },
  });
  return { groupId, count: () => seen.size, stop: () => consumer.disconnect() };
}

/**
 * Waits until `done()` reaches `expected`, giving up when nothing has progressed for `stallMs` (a stuck run is
 * reported as incomplete rather than waited on forever). Resolves with whether everything arrived.
 */
export async function waitForCount(
  done: () => number,
  expected: number,
  opts: { stallMs?: number; log?: (line: string) => void; label?: string } = {},
): Promise<boolean> {
  const stallMs = opts.stallMs ?? 60_000;
  let last = -1;
  let lastChange = Date.now();
  let lastLog = Date.now();
  while (done() < expected) {
    const now = Date.now();
    const n = done();
    if (n !== last) {
      last = n;
      lastChange = now;
    } else if (now - lastChange > stallMs) {
      return false;
    }
    if (opts.log && now - lastLog >= 5000) {
      opts.log(`  ${opts.label ?? 'done'} ${n}/${expected}`);
      lastLog = now;
    }
    await sleep(50);
  }
  return true;
}

/**
 * An instant (or fixed-latency) OpenAI-compatible model: the test suite's stand-in server, answering every
 * request with a confident low score. Its request log is cleared continuously so it does not grow with N.
 */
export async function startInstantModel(latencyMs = 0): Promise<{ server: HostedTestServer; close(): Promise<void> }> {
  const server = await startHostedTestServer({ model: 'bench-instant' });
  server.setBehaviour(() => ({
    kind: 'answer',
    riskScore: 0.1,
    confidence: 0.95,
    reasons: ['bench stand-in'],
    latencyMs,
  }));
  const trim = setInterval(() => {
    server.requests.length = 0;
  }, 200);
  return {
    server,
    async close() {
      clearInterval(trim);
      await server.close();
    },
  };
}

/** Memory and CPU of one fraudflow process the scenario started (Linux /proc). */
export interface ProcessUse {
  /** RSS when the measurement began, MB. */
  rssStartMb: number;
  /** Peak RSS over the process's life as the kernel counts it (VmHWM), MB: start-up included. */
  rssPeakMb: number;
  /** Peak RSS sampled every 200 ms while the scenario ran, MB. */
  rssPeakDuringRunMb: number;
  /** CPU time per wall second, % of one core, and as a total, ms. */
  cpuPercent: number;
  cpuMs: number;
}

export interface ResourceUse {
  wallSeconds: number;
  /** fraudflow's worker and ingest processes, where the scenario runs them apart from the benchmark. */
  worker?: ProcessUse;
  ingest?: ProcessUse;
  /** RSS of this process (the benchmark: producer, decision watcher, stand-in model, in-process workers), MB. */
  rssStartMb: number;
  rssPeakMb: number;
  /** Peak V8 heap in use on the main thread, MB (the workflow sandbox runs on its own thread and is not in it). */
  heapUsedPeakMb: number;
  /** Peak memory of C++ objects bound to JS, Buffers included, MB. */
  externalPeakMb: number;
  /** This process's CPU time (every thread: JS, workflow thread, Temporal core, libuv) per wall second, %. */
  cpuPercent: number;
  /** The same as a total, ms. */
  cpuMs: number;
  /** The whole machine's busy share across all cores, % (100 = every core busy). */
  machineBusyPercent: number;
  /** CPU of the stack's Temporal dev server and Kafka broker per wall second, % of one core (Linux only). */
  temporalCpuPercent?: number;
  kafkaCpuPercent?: number;
  /** Temporal dev server and Kafka CPU time, ms (Linux only): per item done, steadier than a rate on a shared box. */
  temporalCpuMs?: number;
  kafkaCpuMs?: number;
  /** Stack services whose process changed during the scenario (someone restarted them): its figures are suspect. */
  restarted?: string[];
}

function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    const sum = t.user + t.nice + t.sys + t.idle + t.irq;
    total += sum;
    busy += sum - t.idle;
  }
  return { busy, total };
}

/** utime + stime of a process, ms, from /proc (undefined where there is no /proc or no such process). */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** VmRSS or VmHWM of a process, MB (undefined where there is no /proc or no such process). */
function processMemoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
  } catch {
    return undefined;
  }
}

/**
 * CPU of a server and its worker processes, ms: the process itself, the children it has reaped, and the children
 * still running (a PostgreSQL backend per connection). A child that exits between two reads moves from the third
 * sum to the second, so deltas stay whole.
 */
export function processTreeCpuMs(pid: number): number | undefined {
  const own = processCpuMs(pid);
  if (own === undefined) return undefined;
  let total = own + reapedChildrenCpuMs(pid);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // ppid is field 4, the second after the command name.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid)
        total += processCpuMs(Number(entry)) ?? 0;
    } catch {
      // gone between the listing and the read
    }
  }
  return total;
}

/** cutime + cstime: CPU of the children a process has waited for, ms. */
function reapedChildrenCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

export function stackPid(config: Config, name: 'temporal' | 'kafka'): number | undefined {
  const service = stackServices(config).find((s) => s.name === name);
  return service ? readPid(service.pidFile)?.pid : undefined;
}

/**
 * Samples RSS every 200 ms and CPU deltas between start and stop, for this process, the stack's Temporal and Kafka,
 * and the fraudflow processes in `children`. Call stop() while the children still run (VmHWM needs them alive).
 */
export function startResourceSampler(
  config: Config,
  children: { worker?: number; ingest?: number } = {},
): { stop(): ResourceUse } {
  const started = performance.now();
  const tracked = (['worker', 'ingest'] as const).flatMap((role) => {
    const pid = children[role];
    return pid === undefined
      ? []
      : [{ role, pid, cpu: processCpuMs(pid), rssStart: processMemoryMb(pid, 'VmRSS'), rssPeak: 0 }];
  });
  const cpu = process.cpuUsage();
  const machine = machineTimes();
  const pids = { temporal: stackPid(config, 'temporal'), kafka: stackPid(config, 'kafka') };
  const stackCpu = { temporal: processCpuMs(pids.temporal), kafka: processCpuMs(pids.kafka) };
  const rssStart = process.memoryUsage().rss;
  let rssPeak = rssStart;
  let heapPeak = 0;
  let externalPeak = 0;
  const sample = () => {
    const m = process.memoryUsage();
    rssPeak = Math.max(rssPeak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
    externalPeak = Math.max(externalPeak, m.external);
    for (const t of tracked) t.rssPeak = Math.max(t.rssPeak, processMemoryMb(t.pid, 'VmRSS') ?? 0);
  };
  const timer = setInterval(sample, 200);
  const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
  return {
    stop() {
      clearInterval(timer);
      sample();
      const wallMs = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const m = machineTimes();
      const share = (before: number | undefined, after: number | undefined) =>
        before !== undefined && after !== undefined ? Math.round(((after - before) / wallMs) * 100) : undefined;
      const restarted = (['temporal', 'kafka'] as const).filter((name) => stackPid(config, name) !== pids[name]);
      // A restarted service's old process is gone: its CPU cannot be measured across the restart.
      const temporalAfter = restarted.includes('temporal') ? undefined : processCpuMs(pids.temporal);
      const kafkaAfter = restarted.includes('kafka') ? undefined : processCpuMs(pids.kafka);
      const delta = (before: number | undefined, after: number | undefined) =>
        before !== undefined && after !== undefined ? after - before : undefined;
      const processes: Partial<Record<'worker' | 'ingest', ProcessUse>> = {};
      for (const t of tracked) {
        const cpuMs = delta(t.cpu, processCpuMs(t.pid)) ?? 0;
        processes[t.role] = {
          rssStartMb: t.rssStart ?? 0,
          rssPeakMb: processMemoryMb(t.pid, 'VmHWM') ?? t.rssPeak,
          rssPeakDuringRunMb: t.rssPeak,
          cpuPercent: Math.round((cpuMs / wallMs) * 100),
          cpuMs,
        };
      }
      return {
        ...processes,
        wallSeconds: Math.round(wallMs / 100) / 10,
        rssStartMb: mb(rssStart),
        rssPeakMb: mb(rssPeak),
        heapUsedPeakMb: mb(heapPeak),
        externalPeakMb: mb(externalPeak),
        cpuPercent: Math.round(((used.user + used.system) / 1000 / wallMs) * 100),
        cpuMs: Math.round((used.user + used.system) / 1000),
        machineBusyPercent: Math.round(((m.busy - machine.busy) / Math.max(1, m.total - machine.total)) * 100),
        temporalCpuPercent: share(stackCpu.temporal, temporalAfter),
        temporalCpuMs:
          stackCpu.temporal !== undefined && temporalAfter !== undefined
            ? temporalAfter - stackCpu.temporal
            : undefined,
        kafkaCpuPercent: share(stackCpu.kafka, kafkaAfter),
        kafkaCpuMs: delta(stackCpu.kafka, kafkaAfter),
        ...(restarted.length > 0 ? { restarted } : {}),
      };
    },
  };
}
