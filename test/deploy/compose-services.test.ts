/**
 * Every fraudflow service of docker-compose.yml, run as its own process against the local stack, scores a
 * transaction end to end: the Docker path without Docker.
 *
 * Each service runs as `node --import tsx src/cli/main.ts <its compose command>` (the image runs the compiled
 * `node dist/src/cli/main.js <command>`), with exactly the environment Compose gives its container: the service's
 * `environment` with `.env` holding one FRAUDFLOW_CODEC_KEYS, plus the image's ENV lines, and its own empty home (so
 * its own empty data dir, where a container without keys would mint its own codec key). Only what the network of
 * containers has and this host has not is mapped:
 *
 * - service addresses → the local stack: `kafka:9092`, `temporal:7233`, `ollama:11434`, `redis:6379` (as the
 *   scoring services' own config reads them) become the local stack's KAFKA_BROKERS, TEMPORAL_ADDRESS, OLLAMA_HOST
 *   and FEATURE_STORE_URL endpoints, wherever they occur in a value (URLs and HOSTED_PROVIDERS included);
 * - ports every container has to itself → free ports here: METRICS_PORT and SDK_METRICS_PORT (their defaults, the
 *   same in every container) and CODEC_SERVER_PORT;
 * - the image's WORKFLOW_BUNDLE_PATH → a bundle written by `bundle-workflows`, as the Dockerfile does;
 * - names the shared local stack's other users also use → names of this run (TASK_QUEUE_PREFIX, TOPIC_*,
 *   INGEST_GROUP_ID, OUTCOMES_GROUP_ID; Compose sets none of them, which the test checks): Docker would give these
 *   containers a Kafka and a Temporal of their own.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { connectClient } from '../../src/temporal/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/client';
import { createAssignmentStore, shadow } from '../../src/models/assignment';
import { OutcomeStore } from '../../src/outcomes/store';
import { Decision } from '../../src/schemas/decision';
import type { ScoringReceipt } from '../../src/schemas/decision';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { sampleTransaction } from '../support/pipeline';
import type { ComposeService } from './compose-file';
import {
  composeFiles,
  environmentOf,
  loadComposeServices,
  projectServicesOf,
  readRepoFile,
  repoRoot,
} from './compose-file';

const local = loadConfig();
const composeVars = {
  FRAUDFLOW_CODEC_KEYS: `compose-e2e:${randomBytes(32).toString('base64')}`,
  CASE_CONSOLE_TOKEN: randomBytes(24).toString('hex'),
};
const services = projectServicesOf(loadComposeServices(composeVars));
const run = randomUUID().slice(0, 8);
const isolation = {
  TASK_QUEUE_PREFIX: `compose-e2e-${run}`,
  TOPIC_TRANSACTIONS: `compose-e2e-${run}.transactions`,
  TOPIC_DECISIONS: `compose-e2e-${run}.decisions`,
  TOPIC_DEAD_LETTER: `compose-e2e-${run}.dlq`,
  TOPIC_LABELS: `compose-e2e-${run}.labels`,
  TOPIC_LABELS_DEAD_LETTER: `compose-e2e-${run}.labels.dlq`,
  INGEST_GROUP_ID: `compose-e2e-${run}`,
  OUTCOMES_GROUP_ID: `compose-e2e-${run}-outcomes`,
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The image's `ENV NAME=value` lines. */
function imageEnv(): Record<string, string> {
  const lines = [...readRepoFile('Dockerfile').matchAll(/^ENV\s+([A-Z_]+)=(\S+)\s*$/gm)];
  return Object.fromEntries(lines.map((m) => [m[1] ?? '', m[2] ?? '']));
}

/**
 * Compose-network address → local stack address, read from the scoring services' own config. The broker list goes
 * whole: docker-compose.production.yml names three brokers, which are the one local broker here.
 */
function addressMap(of: typeof services = services): Array<[string, string]> {
  const scoring = of.find(([, s]) => s.command?.[0] === 'worker');
  if (!scoring) throw new Error('the compose file has no worker service');
  const compose = loadConfig(environmentOf(scoring[1]));
  return [
    [compose.kafka.brokers.join(','), local.kafka.brokers.join(',')],
    [compose.temporal.address, local.temporal.address],
    [compose.env.OLLAMA_HOST, local.env.OLLAMA_HOST],
    [new URL(compose.featureStore.url).host, new URL(local.featureStore.url).host],
  ];
}

/** A service's container environment with its compose-network addresses mapped to the local stack. */
function localEnv(s: ComposeService, addresses: Array<[string, string]>): Record<string, string> {
  const env: Record<string, string> = { ...imageEnv(), ...environmentOf(s) };
  for (const [key, value] of Object.entries(env)) {
    env[key] = addresses.reduce((v, [from, to]) => v.split(from).join(to), value);
  }
  return env;
}

interface Running {
  name: string;
  child: ChildProcess;
  env: Record<string, string>;
  logFile: string;
}

describe('docker-compose.yml services as local processes', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-compose-'));
  const running: Running[] = [];

  beforeAll(async () => {
    for (const [name, s] of services) {
      for (const key of Object.keys(isolation)) expect(environmentOf(s)[key], `${name} ${key}`).toBeUndefined();
    }
    const kafka = createKafka(local, 'compose-e2e');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: isolation.TOPIC_TRANSACTIONS, numPartitions: 2 },
        { topic: isolation.TOPIC_DECISIONS, numPartitions: 2 },
        { topic: isolation.TOPIC_DEAD_LETTER, numPartitions: 1 },
        { topic: isolation.TOPIC_LABELS, numPartitions: 1 },
        { topic: isolation.TOPIC_LABELS_DEAD_LETTER, numPartitions: 1 },
      ],
    });
    await admin.disconnect();

    // The Dockerfile's build step: one workflow bundle, loaded by the orchestration worker.
    const bundle = path.join(tmp, 'workflow-bundle.js');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bundle-workflows', bundle], {
        cwd: repoRoot,
        stdio: 'ignore',
      });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bundle-workflows exited ${code}`))));
    });

    const addresses = addressMap();
    for (const [name, s] of services) {
      const home = path.join(tmp, name);
      fs.mkdirSync(home);
      const env = localEnv(s, addresses);
      Object.assign(env, isolation, {
        WORKFLOW_BUNDLE_PATH: bundle,
        METRICS_PORT: String(await freePort()),
        SDK_METRICS_PORT: String(await freePort()),
        CODEC_SERVER_PORT: String(await freePort()),
        CASE_CONSOLE_PORT: String(await freePort()),
        HOME: home,
        PATH: process.env.PATH ?? '/usr/bin:/bin',
      });
      const logFile = path.join(tmp, `${name}.log`);
      const out = fs.openSync(logFile, 'a');
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...(s.command ?? [])], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', out, out],
      });
      running.push({ name, child, env, logFile });
    }
  });

  afterAll(async () => {
    await Promise.all(
      running.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const logs = () => running.map((r) => `--- ${r.name}\n${fs.readFileSync(r.logFile, 'utf8').slice(-2000)}`).join('\n');

  /** Sends one event to the compose ingest's topic and waits for its decision on the decisions topic. */
  async function decide(event: TransactionEvent, transactionsTopic: string): Promise<Decision> {
    const kafka = createKafka(local, 'compose-e2e-check');
    const consumer = kafka.consumer({ groupId: `compose-e2e-check-${run}-${event.transactionId}` });
    await consumer.connect();
    await consumer.subscribe({ topic: isolation.TOPIC_DECISIONS, fromBeginning: true });
    const decided = new Promise<Decision>((resolve) => {
      void consumer.run({
        eachMessage: ({ message }) => {
          const decision = Decision.parse(JSON.parse(message.value?.toString('utf8') ?? 'null'));
          if (decision.transactionId === event.transactionId) resolve(decision);
          return Promise.resolve();
        },
      });
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: transactionsTopic,
      messages: [{ key: event.transactionId, value: JSON.stringify(event) }],
    });
    await producer.disconnect();
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no decision within 150 s\n${logs()}`)), 150_000),
    );
    try {
      return await Promise.race([decided, timeout]);
    } finally {
      await consumer.disconnect();
    }
  }

  it('scores a transaction end to end, every service with its own data dir and the one shared keyring', async () => {
    expect(running.map((r) => r.name).sort()).toEqual(
      [
        'codec-server',
        'ingest',
        'outcomes',
        'worker-hosted-scoring',
        'worker-local-scoring',
        'worker-orchestration',
        'worker-shadow-scoring',
        'worker-cases',
        'case-console',
      ].sort(),
    );
    const ingest = running.find((r) => r.name === 'ingest');
    const transactionsTopic = loadConfig(ingest?.env ?? {}).kafka.topics.transactions;
    expect(transactionsTopic).toBe(isolation.TOPIC_TRANSACTIONS);

    const event = TransactionEvent.parse(sampleTransaction());
    const decision = await decide(event, transactionsTopic);
    expect(decision.transactionId).toBe(event.transactionId);
    expect(decision.modelCalls.some((c) => c.tier === 'local' && c.outcome === 'ok')).toBe(true);
    for (const r of running) expect(r.child.exitCode, `${r.name}\n${logs()}`).toBeNull();

    // Every data dir is still without a key file: no process minted a key of its own.
    for (const r of running) {
      expect(fs.existsSync(path.join(r.env.HOME ?? '', '.cache', 'fraudflow', 'data', 'codec-keys.json')), r.name).toBe(
        false,
      );
    }

    // The history is ciphertext, and the compose codec server (what the UI calls) opens it.
    const connection = await Connection.connect({ address: local.temporal.address });
    try {
      const history = await connection.workflowService.getWorkflowExecutionHistory({
        namespace: local.temporal.namespace,
        execution: { workflowId: decision.workflowId },
      });
      const input = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      expect(input.length).toBe(1);
      const encoding = Buffer.from(input[0]?.metadata?.encoding ?? []).toString('utf8');
      expect(encoding).toBe('binary/encrypted');
      const codec = running.find((r) => r.name === 'codec-server');
      const res = await fetch(`http://127.0.0.1:${codec?.env.CODEC_SERVER_PORT}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'http://127.0.0.1:8233' },
        body: JSON.stringify({
          payloads: input.map((p) => ({
            metadata: Object.fromEntries(
              Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
            ),
            data: Buffer.from(p.data ?? []).toString('base64'),
          })),
        }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
      const body = (await res.json()) as { payloads: Array<{ data: string }> };
      expect(Buffer.from(body.payloads[0]?.data ?? '', 'base64').toString('utf8')).toContain(event.transactionId);
    } finally {
      await connection.close();
    }

    // Metrics on METRICS_HOST (0.0.0.0 from compose): reachable, and counting this decision.
    const orchestration = running.find((r) => r.name === 'worker-orchestration');
    expect(orchestration?.env.METRICS_HOST).toBe('0.0.0.0');
    const metrics = await fetch(`http://127.0.0.1:${orchestration?.env.METRICS_PORT}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/fraudflow_decisions_total\{[^}]*\} 1/);

    // The outcomes service joined the decision into the outcome store (the shared Redis, default keys).
    const outcomeStore = new OutcomeStore({ url: local.featureStore.url });
    try {
      const deadline = Date.now() + 60_000;
      let record = await outcomeStore.read(decision.transactionId);
      while (!record && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        record = await outcomeStore.read(decision.transactionId);
      }
      expect(record?.decision, logs()).toMatchObject({ policyHash: decision.policyHash, path: decision.path });
    } finally {
      await outcomeStore.close();
    }
  });

  it('scores a challenger in shadow on the compose shadow-scoring worker once one is assigned', async () => {
    const ingest = running.find((r) => r.name === 'ingest');
    const composeConfig = loadConfig(ingest?.env ?? {});
    // `fraudflow model shadow` for this deployment: the shipped policy on the configured model as the challenger.
    const assignments = createAssignmentStore(local, isolation.TASK_QUEUE_PREFIX);
    const model = composeConfig.localModel.model;
    let policyFileHash: string;
    try {
      policyFileHash = await assignments.storePolicy(fs.readFileSync(composeConfig.scoringPolicy.file, 'utf8'));
      await assignments.update((a) => shadow(a, { model, policyFileHash }));
    } finally {
      await assignments.close();
    }

    const event = TransactionEvent.parse(sampleTransaction());
    const published = await decide(event, composeConfig.kafka.topics.transactions);
    expect(published.shadow).toBeUndefined();

    // The shadow answer is on the workflow's result, sealed with the compose keyring.
    const client = await connectClient(composeConfig, { address: local.temporal.address });
    try {
      const result = (await client.workflow.getHandle(published.workflowId).result()) as ScoringReceipt;
      expect(result.shadow, logs()).toMatchObject({ model, policyFileHash, outcome: 'ok' });
    } finally {
      await client.connection.close();
    }
    const shadowWorker = running.find((r) => r.name === 'worker-shadow-scoring');
    const metrics = await (await fetch(`http://127.0.0.1:${shadowWorker?.env.METRICS_PORT}/metrics`)).text();
    expect(metrics).toMatch(/fraudflow_shadow_scores_total\{[^}]*agreement="(agree|disagree)"[^}]*\} 1/);
  });

  it('runs the fraudflow services of docker-compose.production.yml as these processes, two of each', () => {
    const production = projectServicesOf(
      loadComposeServices({ ...composeVars, TEMPORAL_POSTGRES_PASSWORD: 'unused' }, composeFiles.production),
    );
    const addresses = addressMap(production);
    // What this run gave each process beside its container environment.
    const perRun = new Set([...Object.keys(isolation), 'WORKFLOW_BUNDLE_PATH', 'METRICS_PORT', 'SDK_METRICS_PORT']);
    for (const key of ['CODEC_SERVER_PORT', 'CASE_CONSOLE_PORT', 'HOME', 'PATH']) perRun.add(key);
    const withoutPerRun = (env: Record<string, string>) =>
      Object.fromEntries(Object.entries(env).filter(([k]) => !perRun.has(k)));
    expect(production.map(([name]) => name).sort()).toEqual(running.map((r) => r.name).sort());
    for (const r of running) {
      const [, s] = production.find(([name]) => name === r.name) ?? [];
      if (!s) throw new Error(`docker-compose.production.yml has no ${r.name}`);
      expect(s.deploy?.replicas, r.name).toBe(2);
      expect(s.command, r.name).toEqual(services.find(([name]) => name === r.name)?.[1].command);
      expect(withoutPerRun(localEnv(s, addresses)), r.name).toEqual(withoutPerRun(r.env));
    }
  });
});
