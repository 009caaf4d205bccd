/**
 * The Temporal server as a production cluster runs it (TEMPORAL_BACKEND=postgres): `go.temporal.io/server` built
 * with `go install`, its four services (frontend, history, matching, worker) in one process, persistence and
 * visibility on the stack's PostgreSQL, schemas set up with the module's `temporal-sql-tool`.
 *
 * It waits for PostgreSQL before it can start, so `start` only asks for a start and `ready` does it: schemas, then
 * the server, then the namespace and fraudflow's search attributes (a production server creates no namespace).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { stringify } from 'yaml';
import type { Config } from '../../config';
import type { StackLayout } from '../layout';
import { versions } from '../layout';
import { alive, requireTool, spawnDetached, waitFor } from '../processes';
import { runToLog } from '../../tools';
import { postgresProgram, temporalDatabase } from './postgres';
import type { StackService } from './shared';
import { goFix, processFiles, splitHostPort, waitForProcess, temporalServing, withTemporalConnection } from './shared';
import { registerSearchAttributes } from './temporal';

/** History shards: fixed when the schema is set up. A cluster sizes this for its peak (docs/operations.md). */
export const historyShards = 4;

/** Closed workflows are kept this long, as on the dev server. */
const retentionSeconds = 24 * 3600;

export function temporalServerLayout(layout: StackLayout) {
  const bin = path.join(layout.temporalServerHome, 'bin');
  return {
    server: path.join(bin, 'server'),
    sqlTool: path.join(bin, 'sql'),
    config: path.join(layout.temporalServerData, 'config'),
  };
}

export function temporalServerService(config: Config, layout: StackLayout): StackService {
  const { host, port } = splitHostPort(config.temporal.address);
  const files = processFiles(layout, 'temporal-server');
  const paths = temporalServerLayout(layout);
  let startRequested = false;

  const withConnection = <T>(use: (connection: Connection) => Promise<T>): Promise<T> =>
    withTemporalConnection(config.temporal.address, use);

  return {
    name: 'temporal-server',
    managed: true,
    ports: serverPorts(port).map((p) => ({ host, port: p, env: 'TEMPORAL_ADDRESS' })),
    ...files,
    async provision() {
      if (fs.existsSync(paths.server) && fs.existsSync(paths.sqlTool)) return;
      requireTool('go', ['version'], goFix);
      await buildServer(layout, paths);
    },
    start() {
      startRequested = true;
    },
    async ready(timeoutMs) {
      if (startRequested && !alive(files.pidFile)()) {
        await waitFor('PostgreSQL for the Temporal server', () => postgresAnswers(config, layout), {
          timeoutMs,
          logFile: files.logFile,
        });
        await setUpSchemas(config, paths, files.logFile);
        writeServerConfig(config, paths);
        spawnDetached({
          command: paths.server,
          // No authorizer: the server listens on loopback only, like the dev server.
          args: [
            '--root',
            layout.temporalServerData,
            '--config',
            'config',
            '--env',
            'fraudflow',
            '--allow-no-auth',
            'start',
          ],
          cwd: layout.temporalServerData,
          ...files,
        });
      }
      await waitForProcess('Temporal server (gRPC health)', () => this.healthy(), files, timeoutMs);
      await waitFor('Temporal namespace and search attributes', () => registerAll(config, withConnection), {
        timeoutMs: 60_000,
        logFile: files.logFile,
      });
    },
    healthy() {
      return temporalServing(config.temporal.address);
    },
    endpoints() {
      return [{ name: `Temporal server ${versions.temporalServer} (PostgreSQL)`, value: config.temporal.address }];
    },
  };
}

/** Frontend gRPC, frontend HTTP, history, matching, worker; then their membership (ringpop) ports. */
export function serverPorts(frontend: number): number[] {
  return [0, 1, 2, 3, 4, 10, 12, 13, 14].map((offset) => frontend + offset);
}

/** Builds the server and the SQL tool (which carries the schemas: `update-schema --schema-name`). */
async function buildServer(layout: StackLayout, paths: ReturnType<typeof temporalServerLayout>): Promise<void> {
  const cmds = ['cmd/server', 'cmd/tools/sql'].map((c) => `go.temporal.io/server/${c}@v${versions.temporalServer}`);
  // One package at a time: the server is large and the machine may be shared.
  await runToLog('go', ['install', ...cmds], {
    env: { CGO_ENABLED: '0', GOBIN: path.dirname(paths.server), GOFLAGS: '-p=1' },
    logFile: path.join(layout.buildLogs, `build-temporal-server-${versions.temporalServer}.log`),
    what: `building the Temporal server v${versions.temporalServer} with go install`,
  });
}

function sqlArgs(config: Config, database: string): string[] {
  return [
    '--plugin',
    'postgres12',
    '--endpoint',
    '127.0.0.1',
    '--port',
    String(config.env.TEMPORAL_POSTGRES_PORT),
    '--user',
    temporalDatabase.user,
    '--database',
    database,
  ];
}

/** pg_isready against the stack's PostgreSQL: the server must not start before its store answers. */
function postgresAnswers(config: Config, layout: StackLayout): Promise<boolean> {
  const isReady = postgresProgram(layout, 'pg_isready');
  const port = String(config.env.TEMPORAL_POSTGRES_PORT);
  const res = spawnSync(isReady.command, ['-q', '-h', '127.0.0.1', '-p', port, '-U', temporalDatabase.user], {
    env: { ...process.env, ...isReady.env },
  });
  return Promise.resolve(res.status === 0);
}

/**
 * Creates both databases and their schemas at version 0.0 the first time, then brings them to the module's
 * versions (`update-schema` applies only what is missing, so a newer server version migrates an old cluster).
 */
async function setUpSchemas(config: Config, paths: ReturnType<typeof temporalServerLayout>, logFile: string) {
  const schemaNames = { temporal: 'temporal', temporal_visibility: 'visibility' } as const;
  for (const database of temporalDatabase.databases) {
    const done = path.join(config.dataDir, 'temporal-server', `${database}.created`);
    const run = (args: string[], what: string) =>
      runToLog(paths.sqlTool, [...sqlArgs(config, database), ...args], { logFile, what: `${what} (${database})` });
    if (!fs.existsSync(done)) {
      await run(['create-database'], 'creating the database');
      await run(['setup-schema', '-v', '0.0'], 'setting up the schema');
      fs.writeFileSync(done, new Date().toISOString());
    }
    await run(['update-schema', '--schema-name', `postgresql/v12/${schemaNames[database]}`], 'updating the schema');
  }
}

function writeServerConfig(config: Config, paths: ReturnType<typeof temporalServerLayout>): void {
  fs.mkdirSync(paths.config, { recursive: true });
  const dynamicConfigFile = path.join(paths.config, 'dynamicconfig.yaml');
  fs.writeFileSync(path.join(paths.config, 'fraudflow.yaml'), stringify(serverConfig(config, dynamicConfigFile)));
  fs.writeFileSync(dynamicConfigFile, stringify(dynamicConfig));
}

/** The server's YAML (`config/fraudflow.yaml`): one process, on the TEMPORAL_ADDRESS host, both stores on PostgreSQL. */
export function serverConfig(config: Config, dynamicConfigFile: string) {
  const { host, port } = splitHostPort(config.temporal.address);
  const [grpcPort, httpPort, historyPort, matchingPort, workerPort, ...membership] = serverPorts(port);
  const store = (databaseName: string) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${config.env.TEMPORAL_POSTGRES_PORT}`,
      connectProtocol: 'tcp',
      user: temporalDatabase.user,
      maxConns: 20,
      maxIdleConns: 20,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpc: number | undefined, member: number | undefined, http?: number) => ({
    rpc: { grpcPort: grpc, membershipPort: member, bindOnIP: host, ...(http ? { httpPort: http } : {}) },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: historyShards,
      datastores: { default: store('temporal'), visibility: store('temporal_visibility') },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: host } },
    services: {
      frontend: rpc(grpcPort, membership[0], httpPort),
      history: rpc(historyPort, membership[1]),
      matching: rpc(matchingPort, membership[2]),
      worker: rpc(workerPort, membership[3]),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${host}:${grpcPort}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

/**
 * The dev server's two settings (src/stack/services/temporal.ts), so the two are compared on the same terms:
 * eager activities, and a transfer queue read often enough for a handful of shards.
 */
const dynamicConfig = {
  'system.enableActivityEagerExecution': [{ value: true }],
  'history.transferProcessorMaxPollRPS': [{ value: 1000 }],
};

const grpcNotFound = 5;

/** Registers the namespace when missing (a production server starts with none), then the search attributes. */
async function registerAll(
  config: Config,
  withConnection: <T>(use: (c: Connection) => Promise<T>) => Promise<T>,
): Promise<boolean> {
  const { namespace } = config.temporal;
  await withConnection(async (connection) => {
    try {
      await connection.workflowService.describeNamespace({ namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== grpcNotFound) throw err;
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(retentionSeconds * 1000),
      });
    }
    await registerSearchAttributes(connection, config);
  });
  return true;
}
