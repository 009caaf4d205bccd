/** A single-node KRaft Kafka broker, its jars fetched from Maven Central and run with the system's Java. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Admin } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../../config';
import type { StackLayout } from '../layout';
import { versions } from '../layout';
import { requireTool, spawnDetached, waitFor } from '../processes';
import { StackError } from '../../errors';
import { runToLog } from '../../tools';
import type { StackService } from './shared';
import { processFiles, splitHostPort, waitForProcess } from './shared';

/** Where the one-node broker listens and keeps its files. */
interface KafkaNode {
  /** `host:port` of the PLAINTEXT listener: the bootstrap address. */
  broker: string;
  host: string;
  port: number;
  controllerPort: number;
  propsFile: string;
  log4jFile: string;
  logDirs: string;
  /** Every fetched jar: `<kafkaLibs>/*`. */
  classpath: string;
}

export function kafkaService(config: Config, layout: StackLayout): StackService {
  const node = kafkaNode(config, layout);
  const files = processFiles(layout, 'kafka');
  return {
    name: 'kafka',
    managed: true,
    ports: [
      { host: node.host, port: node.port, env: 'KAFKA_BROKERS' },
      { host: node.host, port: node.controllerPort, env: 'KAFKA_CONTROLLER_PORT' },
    ],
    ...files,
    provision: () => provisionKafka(layout),
    start() {
      writeBrokerConfig(config, node);
      formatStorage(layout, node);
      spawnDetached({ command: 'java', args: brokerArgs(layout, node), ...files });
    },
    async ready(timeoutMs) {
      await waitForProcess('Kafka broker (metadata)', () => this.healthy(), files, timeoutMs);
      const created = async () => (await ensureTopics(config, node.broker), true);
      await waitFor('Kafka topic creation', created, { timeoutMs: 30_000, logFile: files.logFile });
    },
    healthy: () => brokerHealthy(node.broker),
    endpoints() {
      const t = config.kafka.topics;
      return [
        { name: 'Kafka bootstrap', value: node.broker },
        {
          name: 'Kafka topics',
          value: `${t.transactions}, ${t.decisions}, ${t.deadLetter}, ${t.labels}, ${t.labelsDeadLetter}`,
        },
      ];
    },
  };
}

function kafkaNode(config: Config, layout: StackLayout): KafkaNode {
  const broker = config.kafka.brokers[0] ?? '127.0.0.1:9092';
  return {
    broker,
    ...splitHostPort(broker),
    controllerPort: config.env.KAFKA_CONTROLLER_PORT,
    propsFile: path.join(layout.kafkaData, 'server.properties'),
    log4jFile: path.join(layout.kafkaData, 'log4j.properties'),
    logDirs: path.join(layout.kafkaData, 'log-dirs'),
    classpath: `${layout.kafkaLibs}/*`,
  };
}

/** Fetches the jars unless a complete fetch is cached; the marker is written last, so a broken fetch is retried. */
async function provisionKafka(layout: StackLayout): Promise<void> {
  const complete = path.join(layout.kafkaLibs, '.complete');
  if (fs.existsSync(complete)) return;
  await fetchKafkaJars(layout);
  fs.writeFileSync(complete, new Date().toISOString());
}

function kafkaAdmin(broker: string): Admin {
  return new Kafka({
    clientId: 'fraudflow-stack',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
}

function writeBrokerConfig(config: Config, node: KafkaNode): void {
  fs.mkdirSync(node.logDirs, { recursive: true });
  fs.writeFileSync(node.propsFile, serverProperties(config, node));
  fs.writeFileSync(node.log4jFile, log4jProperties);
}

/** Formats the log dirs once, with a fresh cluster id; a formatted broker keeps its data across restarts. */
function formatStorage(layout: StackLayout, node: KafkaNode): void {
  if (fs.existsSync(path.join(node.logDirs, 'meta.properties'))) return;
  const storageTool = ['-cp', node.classpath, 'kafka.tools.StorageTool'];
  const uuid = spawnJava([...storageTool, 'random-uuid']).trim();
  const out = spawnJava([...storageTool, 'format', '-t', uuid, '-c', node.propsFile, '--ignore-formatted']);
  fs.mkdirSync(layout.logs, { recursive: true });
  fs.appendFileSync(path.join(layout.logs, 'kafka-format.log'), out);
}

function brokerArgs(layout: StackLayout, node: KafkaNode): string[] {
  return [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    `-Dlog4j.configuration=file:${node.log4jFile}`,
    `-Dkafka.logs.dir=${layout.logs}`,
    '-cp',
    node.classpath,
    'kafka.Kafka',
    node.propsFile,
  ];
}

/** Creates whichever of the pipeline's topics are missing; the dead-letter topics need no parallelism. */
async function ensureTopics(config: Config, broker: string): Promise<void> {
  const admin = kafkaAdmin(broker);
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const { transactions, decisions, deadLetter, labels, labelsDeadLetter } = config.kafka.topics;
    const wanted = [
      { topic: transactions, numPartitions: config.kafka.partitions },
      { topic: decisions, numPartitions: config.kafka.partitions },
      { topic: deadLetter, numPartitions: 1 },
      { topic: labels, numPartitions: config.kafka.partitions },
      { topic: labelsDeadLetter, numPartitions: 1 },
    ].filter((t) => !existing.has(t.topic));
    if (wanted.length > 0) await admin.createTopics({ topics: wanted, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Healthy once the broker has registered and a controller is elected. */
async function brokerHealthy(broker: string): Promise<boolean> {
  const admin = kafkaAdmin(broker);
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The broker's server.properties: one node as broker and controller, topics created only by `ready`. */
function serverProperties(
  config: Config,
  node: { host: string; port: number; controllerPort: number; logDirs: string },
): string {
  const { host, port, controllerPort } = node;
  const props = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${host}:${controllerPort}`,
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': node.logDirs,
    'num.partitions': String(config.kafka.partitions),
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    'message.max.bytes': String(Math.max(1_048_588, config.ingest.maxEventBytes * 4)),
  };
  return (
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n'
  );
}

const log4jProperties = [
  'log4j.rootLogger=WARN, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka=INFO',
  'log4j.logger.kafka.server.KafkaServer=INFO',
  'log4j.logger.org.apache.kafka=WARN',
  '',
].join('\n');

/** Copies the Kafka broker's runtime jars into the cache with Maven, from a generated pom. */
async function fetchKafkaJars(layout: StackLayout): Promise<void> {
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
}

function spawnJava(args: string[]): string {
  const res = spawnSync('java', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new StackError(`java ${args.slice(2).join(' ')} failed:\n${res.stderr}${res.stdout}`);
  return res.stdout;
}
