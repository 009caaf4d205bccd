/**
 * docker-compose.yml, the Dockerfile and .env.example against the code they configure: src/config.ts (variable names,
 * defaults, schemas) and src/search-attributes.ts. No Docker needed: the files are parsed, nothing is started.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { Env, HostedProvider, loadConfig } from '../src/config';
import { processNodeOptions } from '../workers/build';
import { fraudSearchAttributes } from '../src/search-attributes';

const root = path.resolve(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

const ComposeService = z.object({
  image: z.string().optional(),
  build: z.unknown().optional(),
  entrypoint: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
  // Mapping form only, every value set: a pass-through `KEY:` would make the containers depend on the host.
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  healthcheck: z.object({ test: z.array(z.string()) }).optional(),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
});
type ComposeService = z.infer<typeof ComposeService>;
const ComposeFile = z.object({ services: z.record(z.string(), ComposeService) });

/** Compose's `${NAME:-default}` / `${NAME-default}` and `$$`, resolved as with no variables set (no `.env`). */
function interpolate(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|[A-Za-z_][A-Za-z0-9_]*)/g,
      (match: string, token: string, _name: string | undefined, fallback: string | undefined) => {
        if (token === '$') return '$';
        if (fallback === undefined) throw new Error(`${match} in docker-compose.yml has no default`);
        return fallback;
      },
    );
  }
  if (Array.isArray(value)) return value.map(interpolate);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v)]));
  }
  return value;
}

function loadCompose() {
  const raw: unknown = parse(read('docker-compose.yml'), { merge: true });
  return ComposeFile.parse(interpolate(raw)).services;
}

const services = loadCompose();

function service(name: string): ComposeService {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

/** The services built from this repository's Dockerfile, as opposed to the Kafka/Temporal/Ollama/Redis images. */
const projectServices = Object.entries(services).filter(([, s]) => s.build !== undefined);

function environmentOf(s: ComposeService): Record<string, string> {
  return s.environment ?? {};
}

function splitHostPort(hostPort: string): { host: string; port: number } {
  const i = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
}

/** Short port syntax `[ip:]host:container[/proto]`. */
function publishedPorts(s: ComposeService) {
  return (s.ports ?? []).map((spec) => {
    const m = /^(?:(\d+\.\d+\.\d+\.\d+):)?(\d+):(\d+)(?:\/(?:tcp|udp))?$/.exec(spec);
    if (!m) throw new Error(`unsupported port syntax ${spec}`);
    return { hostIp: m[1] ?? '0.0.0.0', hostPort: Number(m[2]), containerPort: Number(m[3]) };
  });
}

/** Value of `--flag value` in a command, or undefined. */
function flagValue(command: string[], flag: string): string | undefined {
  const i = command.indexOf(flag);
  return i >= 0 ? command[i + 1] : undefined;
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
        'ingest',
      ]),
    );
  });

  it('runs each project service as a fraudflow CLI subcommand of the Dockerfile entrypoint', () => {
    const commands = Object.fromEntries(projectServices.map(([name, s]) => [name, s.command]));
    expect(commands).toEqual({
      'worker-orchestration': ['worker', 'orchestration'],
      'worker-local-scoring': ['worker', 'local-scoring'],
      'worker-hosted-scoring': ['worker', 'hosted-scoring'],
      ingest: ['ingest'],
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
    expect(fs.existsSync(path.join(root, 'src/cli/main.ts'))).toBe(true);
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

  it('gives every project service HOSTED_PROVIDERS that parse as providers with their API key set', () => {
    for (const [name, s] of projectServices) {
      const env = environmentOf(s);
      const providers = z.array(HostedProvider).parse(JSON.parse(env.HOSTED_PROVIDERS ?? 'null'));
      expect(providers.length, name).toBeGreaterThan(0);
      for (const p of providers) expect(env[p.apiKeyEnv], `${name}: ${p.apiKeyEnv}`).toMatch(/\S/);
    }
  });

  it('points every project service at the compose service names and the ports those services listen on', () => {
    const listen = listenPorts();
    expect(listen.kafka.bound).toBe(listen.kafka.advertised);
    expect(projectServices).toHaveLength(4);
    for (const [name, s] of projectServices) {
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

  it('gives every project service the Redis feature store, declared in config.ts, once Redis answers PING', () => {
    expect(Object.keys(Env.shape)).toContain('FEATURE_STORE_URL');
    expect(projectServices.map(([name]) => name).sort()).toEqual(
      ['ingest', 'worker-hosted-scoring', 'worker-local-scoring', 'worker-orchestration'].sort(),
    );
    for (const [name, s] of projectServices) {
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
    const { transactions, decisions, deadLetter } = defaults.kafka.topics;
    expect(created).toEqual({
      [transactions]: defaults.kafka.partitions,
      [decisions]: defaults.kafka.partitions,
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
    for (const [name, s] of projectServices) {
      const config = loadConfig(environmentOf(s));
      const onOllama = config.hosted.providers.filter((p) => p.baseURL.startsWith(`http://ollama:${listen.ollama}/`));
      expect(created, name).toEqual(expect.arrayContaining([config.localModel.model, ...onOllama.map((p) => p.model)]));
    }
  });

  it('sizes local scoring to the parallel requests the ollama service accepts', () => {
    const parallel = environmentOf(service('ollama')).OLLAMA_NUM_PARALLEL;
    expect(parallel).toMatch(/^\d+$/);
    for (const [name, s] of projectServices) {
      expect(loadConfig(environmentOf(s)).localModel.concurrency, name).toBe(Number(parallel));
    }
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
