/**
 * docker-compose.yml, the Dockerfile and .env.example against the code they configure: src/config/ (variable names,
 * defaults, schemas) and src/search-attributes.ts. No Docker needed: the files are parsed, nothing is started.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { codecKeyring } from '../src/codec';
import { EncryptionCodec } from '../src/codec/payload-codec';
import { Env, HostedProvider, loadConfig } from '../src/config';
import type { ComposeService } from './deploy/compose-file';
import {
  composeFiles,
  environmentOf,
  flagValue,
  loadComposeServices,
  MissingComposeVariable,
  projectServicesOf,
  publishedPorts,
  rawCompose,
  readRepoFile,
  repoRoot,
} from './deploy/compose-file';
import { processNodeOptions } from '../src/worker-set';
import { fraudSearchAttributes } from '../src/search-attributes';
import { versions } from '../src/stack/layout';

const read = readRepoFile;

/** The codec keyring the tests give Compose, as a user would in `.env`. */
const composeVars = {
  FRAUDFLOW_CODEC_KEYS: `compose-test:${randomBytes(32).toString('base64')}`,
  CASE_CONSOLE_TOKEN: randomBytes(24).toString('hex'),
};
const services = loadComposeServices(composeVars);

function service(name: string): ComposeService {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

const projectServices = projectServicesOf(services);
/** The project services that score: the workers and the ingest (not the codec server). */
/** Services that score or work cases: everything but the codec server and the case console (Temporal clients only). */
const scoringServices = projectServices.filter(([, s]) => !['codec-server', 'cases'].includes(s.command?.[0] ?? ''));

function splitHostPort(hostPort: string): { host: string; port: number } {
  const i = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
}

/** Kafka `NAME://host:port,...` listener lists. */
function listeners(value: string | undefined) {
  return (value ?? '').split(',').map((l) => {
    const m = /^([A-Z_]+):\/\/([^:]*):(\d+)$/.exec(l.trim());
    if (!m) throw new Error(`unsupported listener ${l}`);
    return { name: m[1] ?? '', host: m[2] ?? '', port: Number(m[3]) };
  });
}

/** Where each backing service listens inside the compose network, read from its own configuration. */
function listenPorts() {
  const temporal = service('temporal').command ?? [];
  const kafkaEnv = environmentOf(service('kafka'));
  const internal = listeners(kafkaEnv.KAFKA_ADVERTISED_LISTENERS).find((l) => l.host === 'kafka');
  const bound = listeners(kafkaEnv.KAFKA_LISTENERS).find((l) => l.name === internal?.name);
  return {
    temporal: Number(flagValue(temporal, '--port') ?? 7233),
    temporalUi: Number(flagValue(temporal, '--ui-port') ?? 8233),
    kafka: { advertised: internal?.port, bound: bound?.port },
    ollama: splitHostPort(environmentOf(service('ollama')).OLLAMA_HOST ?? '0.0.0.0:11434').port,
    redis: Number(flagValue(service('redis').command ?? [], '--port') ?? 6379),
  };
}

const defaults = loadConfig({});

describe('docker-compose.yml', () => {
  it('declares the backing services and the project services', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'kafka',
        'temporal',
        'ollama',
        'redis',
        'worker-orchestration',
        'worker-local-scoring',
        'worker-hosted-scoring',
        'worker-shadow-scoring',
        'worker-cases',
        'ingest',
        'case-console',
      ]),
    );
  });

  it('runs each project service as a fraudflow CLI subcommand of the Dockerfile entrypoint', () => {
    const commands = Object.fromEntries(projectServices.map(([name, s]) => [name, s.command]));
    expect(commands).toEqual({
      'worker-orchestration': ['worker', 'orchestration'],
      'worker-local-scoring': ['worker', 'local-scoring'],
      'worker-hosted-scoring': ['worker', 'hosted-scoring'],
      'worker-shadow-scoring': ['worker', 'shadow-scoring'],
      'worker-cases': ['worker', 'cases'],
      ingest: ['ingest'],
      outcomes: ['outcomes'],
      'case-console': ['cases', 'serve'],
      'codec-server': ['codec-server'],
    });

    const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(read('Dockerfile'))?.[1];
    expect(JSON.parse(entrypoint ?? 'null')).toEqual(['node', 'dist/src/cli/main.js']);
    // The path tsc gives src/cli/main.ts with this repository's rootDir and outDir.
    const tsconfig = z
      .object({ compilerOptions: z.object({ rootDir: z.string(), outDir: z.string() }) })
      .parse(JSON.parse(read('tsconfig.json')));
    const { rootDir, outDir } = tsconfig.compilerOptions;
    const compiled = path.posix.join(outDir, path.posix.relative(rootDir, 'src/cli/main.ts')).replace(/\.ts$/, '.js');
    expect(compiled).toBe('dist/src/cli/main.js');
    expect(fs.existsSync(path.join(repoRoot, 'src/cli/main.ts'))).toBe(true);
  });

  it('runs the image with the prebuilt workflow bundle and the V8 settings the benchmark measured', () => {
    const dockerfile = read('Dockerfile');
    const env = (key: string) => new RegExp(`^ENV\\s+${key}=(\\S+)\\s*$`, 'm').exec(dockerfile)?.[1];
    expect(env('NODE_OPTIONS')).toBe(processNodeOptions);
    const bundlePath = env('WORKFLOW_BUNDLE_PATH');
    expect(bundlePath).toBe('/app/dist/workflow-bundle.js');
    expect(dockerfile).toContain(`bundle-workflows ${path.posix.relative('/app', bundlePath ?? '')}`);
  });

  it('publishes Kafka, Temporal, Ollama and Redis on the host addresses the code defaults to', () => {
    const listen = listenPorts();
    const broker = splitHostPort(defaults.kafka.brokers[0] ?? '');
    const featureStore = new URL(defaults.featureStore.url);
    const temporal = splitHostPort(defaults.temporal.address);
    const ollama = splitHostPort(defaults.env.OLLAMA_HOST);

    expect(publishedPorts(service('temporal'))).toEqual(
      expect.arrayContaining([
        { hostIp: temporal.host, hostPort: temporal.port, containerPort: listen.temporal },
        { hostIp: temporal.host, hostPort: defaults.env.TEMPORAL_UI_PORT, containerPort: listen.temporalUi },
      ]),
    );
    expect(publishedPorts(service('ollama'))).toContainEqual({
      hostIp: ollama.host,
      hostPort: ollama.port,
      containerPort: listen.ollama,
    });
    expect(publishedPorts(service('redis'))).toContainEqual({
      hostIp: featureStore.hostname,
      hostPort: Number(featureStore.port),
      containerPort: listen.redis,
    });

    // Kafka hands clients the advertised address of the listener they reached, so the published container port
    // must be a listener advertised as the default broker address.
    const kafkaEnv = environmentOf(service('kafka'));
    const hostListener = listeners(kafkaEnv.KAFKA_ADVERTISED_LISTENERS).find(
      (l) => `${l.host}:${l.port}` === `${broker.host}:${broker.port}`,
    );
    const hostBinding = listeners(kafkaEnv.KAFKA_LISTENERS).find((l) => l.name === hostListener?.name);
    expect(hostBinding).toBeDefined();
    expect(publishedPorts(service('kafka'))).toContainEqual({
      hostIp: broker.host,
      hostPort: broker.port,
      containerPort: hostBinding?.port,
    });
  });

  it('runs the Kafka KRaft controller on the port config.ts expects', () => {
    const kafkaEnv = environmentOf(service('kafka'));
    const controller = listeners(kafkaEnv.KAFKA_LISTENERS).find(
      (l) => l.name === kafkaEnv.KAFKA_CONTROLLER_LISTENER_NAMES,
    );
    expect(controller?.port).toBe(defaults.env.KAFKA_CONTROLLER_PORT);
    expect(kafkaEnv.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`1@kafka:${defaults.env.KAFKA_CONTROLLER_PORT}`);
  });

  it('sets only variables config.ts declares (or an API-key variable a hosted provider names) on project services', () => {
    const declared = new Set(Object.keys(Env.shape));
    for (const [name, s] of projectServices) {
      const env = environmentOf(s);
      const apiKeyVars = loadConfig(env).hosted.providers.map((p) => p.apiKeyEnv);
      const unknown = Object.keys(env).filter((k) => !declared.has(k) && !apiKeyVars.includes(k));
      expect(unknown, name).toEqual([]);
    }
  });

  it('gives every scoring service HOSTED_PROVIDERS that parse as providers with their API key set', () => {
    for (const [name, s] of scoringServices) {
      const env = environmentOf(s);
      const providers = z.array(HostedProvider).parse(JSON.parse(env.HOSTED_PROVIDERS ?? 'null'));
      expect(providers.length, name).toBeGreaterThan(0);
      for (const p of providers) expect(env[p.apiKeyEnv], `${name}: ${p.apiKeyEnv}`).toMatch(/\S/);
    }
  });

  it('points every scoring service at the compose service names and the ports those services listen on', () => {
    const listen = listenPorts();
    expect(listen.kafka.bound).toBe(listen.kafka.advertised);
    expect(scoringServices).toHaveLength(7);
    for (const [name, s] of scoringServices) {
      const config = loadConfig(environmentOf(s));
      expect(config.temporal.address, name).toBe(`temporal:${listen.temporal}`);
      expect(config.kafka.brokers, name).toEqual([`kafka:${listen.kafka.advertised}`]);
      expect(config.env.OLLAMA_HOST, name).toBe(`ollama:${listen.ollama}`);
      expect(config.localModel.baseURL, name).toBe(`http://ollama:${listen.ollama}/v1`);
      const standIn = config.hosted.providers.find((p) => p.apiKeyEnv === 'FRONTIER_STANDIN_API_KEY');
      expect(standIn?.baseURL, name).toBe(`http://ollama:${listen.ollama}/v1`);
      expect(config.featureStore, name).toEqual({ url: `redis://redis:${listen.redis}/0`, managed: false });
      // Inside a container, loopback is the container itself.
      const addresses = [
        config.temporal.address,
        ...config.kafka.brokers,
        config.env.OLLAMA_HOST,
        config.localModel.baseURL,
        config.featureStore.url,
      ];
      addresses.push(...config.hosted.providers.map((p) => p.baseURL));
      expect(
        addresses.filter((a) => /127\.0\.0\.1|localhost/.test(a)),
        name,
      ).toEqual([]);
    }
  });

  it('gives every scoring service the Redis feature store, declared in config.ts, once Redis answers PING', () => {
    expect(Object.keys(Env.shape)).toContain('FEATURE_STORE_URL');
    expect(scoringServices.map(([name]) => name).sort()).toEqual(
      [
        'ingest',
        'outcomes',
        'worker-hosted-scoring',
        'worker-local-scoring',
        'worker-orchestration',
        'worker-shadow-scoring',
        'worker-cases',
      ].sort(),
    );
    for (const [name, s] of scoringServices) {
      expect(environmentOf(s).FEATURE_STORE_URL, name).toBe(`redis://redis:${listenPorts().redis}/0`);
      expect(s.depends_on?.redis, name).toEqual({ condition: 'service_healthy' });
    }
  });

  it('runs Redis 7 with an append-only file on a volume and a redis-cli ping healthcheck', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^(redis:7|valkey\/valkey:[78])[.-]/);
    const command = redis.command ?? [];
    expect(flagValue(command, '--appendonly')).toBe('yes');
    // The official images run in /data, the volume holding the append-only file.
    expect(redis.volumes).toContainEqual(expect.stringMatching(/^[\w-]+:\/data$/));
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', '-p', String(listenPorts().redis), 'ping']);
  });

  it('registers every search attribute of src/search-attributes.ts with its type on the Temporal dev server', () => {
    const command = service('temporal').command ?? [];
    const registered = command.flatMap((arg, i) => (arg === '--search-attribute' ? [command[i + 1] ?? ''] : []));
    // The CLI takes case-insensitive shorthands (Keyword, KeywordList); the SDK names them KEYWORD, KEYWORD_LIST.
    const normalize = (type: string) => type.replace(/_/g, '').toLowerCase();
    const actual = Object.fromEntries(
      registered.map((pair) => {
        const [name = '', type = ''] = pair.split('=');
        return [name, normalize(type)];
      }),
    );
    const expected = Object.fromEntries(fraudSearchAttributes.map((k) => [k.name, normalize(k.type)]));
    expect(actual).toEqual(expected);
    expect(registered).toHaveLength(fraudSearchAttributes.length);
  });

  it('creates the topics config.ts names with its partition counts', () => {
    const script = (service('kafka-init').command ?? []).join('\n');
    const created = Object.fromEntries(
      [...script.matchAll(/--topic (\S+) --partitions (\d+)/g)].map((m): [string, number] => [
        m[1] ?? '',
        Number(m[2]),
      ]),
    );
    const { transactions, decisions, deadLetter, labels, labelsDeadLetter } = defaults.kafka.topics;
    expect(created).toEqual({
      [transactions]: defaults.kafka.partitions,
      [decisions]: defaults.kafka.partitions,
      [labels]: defaults.kafka.partitions,
      [labelsDeadLetter]: 1,
      [deadLetter]: 1,
    });
  });

  it('imports the model into Ollama under every name the project services ask Ollama for', () => {
    const init = service('ollama-init');
    const initEnv = environmentOf(init);
    const script = (init.command ?? []).join('\n');
    const created = [...script.matchAll(/ollama create (\S+)/g)].map((m) =>
      (m[1] ?? '').replace(/^"\$([A-Z_]+)"$/, (_all, name: string) => initEnv[name] ?? `unset ${name}`),
    );
    const listen = listenPorts();
    for (const [name, s] of scoringServices) {
      const config = loadConfig(environmentOf(s));
      const onOllama = config.hosted.providers.filter((p) => p.baseURL.startsWith(`http://ollama:${listen.ollama}/`));
      expect(created, name).toEqual(expect.arrayContaining([config.localModel.model, ...onOllama.map((p) => p.model)]));
    }
  });

  it('sizes local scoring to the parallel requests the ollama service accepts', () => {
    const parallel = environmentOf(service('ollama')).OLLAMA_NUM_PARALLEL;
    expect(parallel).toMatch(/^\d+$/);
    for (const [name, s] of scoringServices) {
      expect(loadConfig(environmentOf(s)).localModel.concurrency, name).toBe(Number(parallel));
    }
  });
  it('requires one FRAUDFLOW_CODEC_KEYS for Compose and gives that keyring to every project service', () => {
    // No key in the file (it would be a secret in git): Compose must refuse to start without one.
    expect(() => loadComposeServices({})).toThrow(MissingComposeVariable);
    expect(() => loadComposeServices({ FRAUDFLOW_CODEC_KEYS: '' })).toThrow(MissingComposeVariable);
    expect(projectServices.map(([name]) => name)).toContain('codec-server');
    const keyrings = projectServices.map(([name, s]) => {
      const config = loadConfig({ ...environmentOf(s), FRAUDFLOW_DATA_DIR: path.join(os.tmpdir(), `no-keys-${name}`) });
      expect(config.codec.enabled, name).toBe(true);
      expect(config.codec.keysSpec, name).toBe(composeVars.FRAUDFLOW_CODEC_KEYS);
      return [name, codecKeyring(config)] as const;
    });
    // What the ingest seals, every worker and the codec server open.
    const [, ingestKeys] = keyrings.find(([name]) => name === 'ingest') ?? [];
    expect(ingestKeys?.activeKeyId).toBe('compose-test');
    const payload = { metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new Uint8Array([1, 2, 3]) };
    return Promise.all(
      keyrings.map(async ([name, keyring]) => {
        const [sealed] = await new EncryptionCodec(ingestKeys ?? keyring).encode([payload]);
        const [opened] = await new EncryptionCodec(keyring).decode([sealed ?? payload]);
        expect(opened, name).toEqual(payload);
      }),
    );
  });

  it('runs a codec server on all container interfaces, published on the address the Temporal UI calls', () => {
    const codec = service('codec-server');
    expect(codec.command).toEqual(['codec-server']);
    const config = loadConfig(environmentOf(codec));
    expect(config.codec.serverHost).toBe('0.0.0.0');
    const published = publishedPorts(codec);
    expect(published.map((p) => [p.hostIp, p.containerPort])).toEqual([['127.0.0.1', config.codec.serverPort]]);
    // The UI decodes in the browser: the endpoint must be the codec server's address on the host.
    const endpoint = flagValue(service('temporal').command ?? [], '--ui-codec-endpoint');
    expect(endpoint).toBe(`http://127.0.0.1:${published[0]?.hostPort}`);
    const ui = publishedPorts(service('temporal')).find((p) => p.containerPort === listenPorts().temporalUi);
    expect(config.codec.corsOrigins).toEqual(
      expect.arrayContaining([`http://127.0.0.1:${ui?.hostPort}`, `http://localhost:${ui?.hostPort}`]),
    );
    // It needs only the keys: no Kafka, Temporal, model or feature store to wait for.
    expect(codec.depends_on).toBeUndefined();
  });

  it('binds the metrics of every scoring service on all container interfaces (METRICS_HOST), loopback by default', () => {
    expect(defaults.env.METRICS_HOST).toBe('127.0.0.1');
    for (const [name, s] of scoringServices) {
      expect(loadConfig(environmentOf(s)).env.METRICS_HOST, name).toBe('0.0.0.0');
    }
    // Not published: several containers use the same ports; Prometheus scrapes them on the compose network.
    for (const [name, s] of projectServices.filter(([n]) => !['codec-server', 'case-console'].includes(n))) {
      expect(s.ports, name).toBeUndefined();
    }
  });

  it('runs the case console on all container interfaces behind a required token, published on loopback only', () => {
    const console_ = service('case-console');
    const config = loadConfig(environmentOf(console_));
    expect(config.cases.console.host).toBe('0.0.0.0');
    expect(config.cases.console.token).toBe(composeVars.CASE_CONSOLE_TOKEN);
    expect(console_.ports).toEqual([`127.0.0.1:${config.cases.console.port}:${config.cases.console.port}`]);
    // Without a token in .env Compose refuses to start, rather than serving case files to the network unasked.
    expect(() => loadComposeServices({ FRAUDFLOW_CODEC_KEYS: composeVars.FRAUDFLOW_CODEC_KEYS })).toThrow(
      MissingComposeVariable,
    );
  });

  it('keeps the keys out of the file: FRAUDFLOW_CODEC_KEYS is a required substitution, never a literal', () => {
    const raw = JSON.stringify(rawCompose());
    const values = [...raw.matchAll(/"FRAUDFLOW_CODEC_KEYS":"([^"]*)"/g)].map((m) => m[1]);
    expect(values.length).toBeGreaterThanOrEqual(projectServices.length);
    for (const v of values) expect(v).toMatch(/^\$\{FRAUDFLOW_CODEC_KEYS:\?[^}]+\}$/);
  });
});

describe('docker-compose.production.yml', () => {
  const vars = { ...composeVars, TEMPORAL_POSTGRES_PASSWORD: randomBytes(12).toString('hex') };
  const production = loadComposeServices(vars, composeFiles.production);
  const prod = (name: string): ComposeService => {
    const s = production[name];
    if (!s) throw new Error(`docker-compose.production.yml has no service ${name}`);
    return s;
  };
  const prodProject = projectServicesOf(production);
  const brokers = ['kafka-1', 'kafka-2', 'kafka-3'];

  it('runs the Temporal server, its UI and PostgreSQL from the images Temporal and PostgreSQL publish, no dev server', () => {
    expect(prod('temporal').image).toBe(`temporalio/server:${versions.temporalServer}`);
    expect(prod('temporal-schema').image).toBe(`temporalio/auto-setup:${versions.temporalServer}`);
    expect(prod('temporal-ui').image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
    expect(prod('postgresql').image).toBe(`postgres:${versions.postgres}`);
    expect(JSON.stringify(production)).not.toContain('start-dev');
    // The server starts once the schemas are set up; fraudflow once the namespace and search attributes are there.
    expect(prod('temporal').depends_on?.['temporal-schema']).toEqual({ condition: 'service_completed_successfully' });
    expect(prod('temporal-schema').depends_on?.postgresql).toEqual({ condition: 'service_healthy' });
    for (const [name, s] of prodProject.filter(([n]) => n !== 'codec-server')) {
      expect(s.depends_on?.['temporal-init'], name).toEqual({ condition: 'service_completed_successfully' });
    }
  });

  it('keeps the Temporal server on PostgreSQL with the password of the postgresql service, required from .env', () => {
    const env = environmentOf(prod('temporal'));
    expect(env).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql', DBNAME: 'temporal' });
    expect(env.POSTGRES_USER).toBe(environmentOf(prod('postgresql')).POSTGRES_USER);
    expect(env.POSTGRES_PWD).toBe(vars.TEMPORAL_POSTGRES_PASSWORD);
    expect(environmentOf(prod('postgresql')).POSTGRES_PASSWORD).toBe(vars.TEMPORAL_POSTGRES_PASSWORD);
    expect(environmentOf(prod('temporal-schema')).SQL_PASSWORD).toBe(vars.TEMPORAL_POSTGRES_PASSWORD);
    expect(Number(env.NUM_HISTORY_SHARDS)).toBeGreaterThanOrEqual(128);
    expect(() => loadComposeServices(composeVars, composeFiles.production)).toThrow(MissingComposeVariable);
    // Both schemas, from the ones the sql tool embeds for PostgreSQL 12+.
    const script = (prod('temporal-schema').command ?? []).join('\n');
    expect(script).toContain('temporal:temporal temporal_visibility:visibility');
    expect(script).toContain('update-schema --schema-name postgresql/v12/$schema');
    expect(prod('postgresql').ports).toBeUndefined();
  });

  it('creates the namespace and registers every search attribute of src/search-attributes.ts with its type', () => {
    const script = (prod('temporal-init').command ?? []).join('\n');
    const namespace = loadConfig(environmentOf(prodProject[0]![1])).temporal.namespace;
    expect(script).toContain(`temporal operator namespace create --namespace ${namespace}`);
    const list = /for attribute in ([^;]+);/.exec(script)?.[1]?.trim().split(/\s+/) ?? [];
    const normalize = (type: string) => type.replace(/_/g, '').toLowerCase();
    const registered = Object.fromEntries(
      list.map((pair): [string, string] => {
        const [name = '', type = ''] = pair.split('=');
        return [name, normalize(type)];
      }),
    );
    expect(registered).toEqual(Object.fromEntries(fraudSearchAttributes.map((k) => [k.name, normalize(k.type)])));
  });

  it('runs three KRaft brokers, every topic on all three with min.insync.replicas 2', () => {
    const envs = brokers.map((b) => environmentOf(prod(b)));
    expect(envs.map((e) => e.KAFKA_NODE_ID)).toEqual(['1', '2', '3']);
    expect(new Set(envs.map((e) => e.CLUSTER_ID)).size).toBe(1);
    const port = defaults.env.KAFKA_CONTROLLER_PORT;
    for (const e of envs) {
      expect(e.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(brokers.map((b, i) => `${i + 1}@${b}:${port}`).join(','));
      expect(e).toMatchObject({ KAFKA_DEFAULT_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' });
      expect(e).toMatchObject({
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '3',
        KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE: 'false',
      });
    }
    // The same topics as the development file, replicated.
    const script = (prod('kafka-init').command ?? []).join('\n');
    expect(script).toContain('--replication-factor 3 --config min.insync.replicas=2');
    const topics = (text: string) => [...text.matchAll(/--topic (\S+) --partitions (\d+)/g)].map((m) => m.slice(1));
    expect(topics(script)).toEqual(topics((service('kafka-init').command ?? []).join('\n')));
  });

  it('runs every fraudflow service of docker-compose.yml as two replicas, the same but for the broker list', () => {
    expect(prodProject.map(([name]) => name).sort()).toEqual(projectServices.map(([name]) => name).sort());
    for (const [name, s] of prodProject) {
      expect(s.deploy?.replicas, name).toBe(2);
      const dev = service(name);
      expect(s.command, name).toEqual(dev.command);
      const { KAFKA_BROKERS: prodBrokers, ...rest } = environmentOf(s);
      const { KAFKA_BROKERS: devBrokers, ...devRest } = environmentOf(dev);
      expect(rest, name).toEqual(devRest);
      if (devBrokers !== undefined) {
        const advertised = brokers.map((b) => environmentOf(prod(b)).KAFKA_ADVERTISED_LISTENERS?.split(',')[0]);
        expect(advertised.map((l) => l?.replace(/^PLAINTEXT:\/\//, '')).join(','), name).toBe(prodBrokers);
      }
    }
  });

  it('publishes Temporal, its UI, the codec server and the first broker on the addresses the code defaults to', () => {
    const temporal = splitHostPort(defaults.temporal.address);
    expect(publishedPorts(prod('temporal'))).toEqual([
      { hostIp: temporal.host, hostPort: temporal.port, containerPort: 7233 },
    ]);
    const uiEnv = environmentOf(prod('temporal-ui'));
    expect(publishedPorts(prod('temporal-ui'))).toEqual([
      { hostIp: temporal.host, hostPort: defaults.env.TEMPORAL_UI_PORT, containerPort: Number(uiEnv.TEMPORAL_UI_PORT) },
    ]);
    expect(uiEnv.TEMPORAL_ADDRESS).toBe(loadConfig(environmentOf(prodProject[0]![1])).temporal.address);
    // Two codec servers publish nothing (one host port each would clash); the proxy publishes the UI's endpoint.
    expect(prod('codec-server').ports).toBeUndefined();
    const codec = loadConfig(environmentOf(prod('codec-server'))).codec;
    const proxy = publishedPorts(prod('codec-proxy'));
    expect(proxy).toEqual([
      { hostIp: '127.0.0.1', hostPort: defaults.codec.serverPort, containerPort: codec.serverPort },
    ]);
    expect(uiEnv.TEMPORAL_CODEC_ENDPOINT).toBe(`http://127.0.0.1:${proxy[0]?.hostPort}`);
    expect(codec.corsOrigins).toEqual(
      expect.arrayContaining([
        `http://127.0.0.1:${defaults.env.TEMPORAL_UI_PORT}`,
        `http://localhost:${defaults.env.TEMPORAL_UI_PORT}`,
      ]),
    );
    const broker = splitHostPort(defaults.kafka.brokers[0] ?? '');
    expect(publishedPorts(prod('kafka-1'))).toEqual([
      { hostIp: broker.host, hostPort: broker.port, containerPort: 19092 },
    ]);
    expect(environmentOf(prod('kafka-1')).KAFKA_ADVERTISED_LISTENERS).toContain(`HOST://${broker.host}:${broker.port}`);
  });

  it('is named in the README beside the development file', () => {
    const readme = read('README.md');
    expect(readme).toContain(composeFiles.dev);
    expect(readme).toContain(composeFiles.production);
  });
});

interface Documented {
  value: string;
  /** False for a commented-out `# KEY=value` line. */
  active: boolean;
  /** The line above, when it is a comment. */
  comment?: string;
}

/** How a parsed default is written as a variable: lists comma-joined, scalars as text. */
function asEnvValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(asEnvValue).join(',');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

const keyLine = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/;

function parseEnvExample(text: string): Map<string, Documented> {
  const entries = new Map<string, Documented>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const m = keyLine.exec(line);
    if (!m) return;
    const key = m[2] ?? '';
    if (entries.has(key)) throw new Error(`.env.example lists ${key} twice`);
    const raw = (m[3] ?? '').trim();
    const value = /^(['"]).*\1$/.test(raw) ? raw.slice(1, -1) : raw;
    const above = lines[i - 1];
    const comment = above?.startsWith('#') && !keyLine.test(above) ? above : undefined;
    entries.set(key, { value, active: m[1] === undefined, comment });
  });
  return entries;
}

describe('.env.example', () => {
  const documented = parseEnvExample(read('.env.example'));
  const rawDefaults: Record<string, unknown> = Env.parse({});

  it('lists every variable of config.ts, each under a comment line', () => {
    for (const key of Object.keys(Env.shape)) {
      const entry = documented.get(key);
      expect(entry, key).toBeDefined();
      expect(entry?.comment, key).toMatch(/^#\s*\S/);
    }
  });

  it('gives each variable the default config.ts applies', () => {
    for (const key of Object.keys(Env.shape)) {
      const expected = rawDefaults[key];
      const entry = documented.get(key);
      if (expected === undefined) {
        expect(entry, key).toEqual(expect.objectContaining({ value: '', active: false }));
      } else if (key === 'HOSTED_PROVIDERS') {
        expect(JSON.parse(entry?.value ?? 'null'), key).toEqual(expected);
      } else {
        const value = (entry?.value ?? '').replace(/^~(?=\/|$)/, os.homedir());
        expect(value, key).toBe(asEnvValue(expected));
      }
    }
  });

  it('loads into exactly the defaults of config.ts', () => {
    const active = Object.fromEntries([...documented].filter(([, d]) => d.active).map(([k, d]) => [k, d.value]));
    expect(Env.parse(active)).toEqual(Env.parse({}));
  });

  it('documents the API-key variable of each default hosted provider', () => {
    for (const p of defaults.hosted.providers) {
      expect(documented.get(p.apiKeyEnv)?.comment, p.apiKeyEnv).toMatch(/^#\s*\S/);
    }
  });

  it('shows valid HOSTED_PROVIDERS examples for OpenAI, OpenRouter and a LiteLLM proxy', () => {
    const examples = read('.env.example')
      .split('\n')
      .flatMap((line) => /^#\s+[\w ]+:\s+(\[.*\])\s*$/.exec(line)?.[1] ?? [])
      .flatMap((json) => z.array(HostedProvider).parse(JSON.parse(json)));
    expect(examples.map((p) => [p.baseURL, p.apiKeyEnv])).toEqual([
      ['https://api.openai.com/v1', 'OPENAI_API_KEY'],
      ['https://openrouter.ai/api/v1', 'OPENROUTER_API_KEY'],
      ['http://litellm:4000/v1', 'LITELLM_API_KEY'],
    ]);
    expect(examples[0]?.model).toBe('gpt-4o-mini');
  });
});
