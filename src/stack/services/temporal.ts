/** The Temporal dev server: the Temporal CLI built with `go install`, run as `temporal server start-dev`. */
import fs from 'node:fs';
import path from 'node:path';
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from '../../config';
import { fraudSearchAttributes } from '../../search-attributes';
import type { StackLayout } from '../layout';
import { versions } from '../layout';
import { requireTool, spawnDetached, waitFor } from '../processes';
import { runToLog } from '../../tools';
import type { StackService } from './shared';
import { goFix, processFiles, splitHostPort, waitForProcess, temporalServing, withTemporalConnection } from './shared';

export function temporalService(config: Config, layout: StackLayout): StackService {
  const { host, port } = splitHostPort(config.temporal.address);
  const uiPort = config.env.TEMPORAL_UI_PORT;
  const files = processFiles(layout, 'temporal');

  const withConnection = <T>(use: (connection: Connection) => Promise<T>): Promise<T> =>
    withTemporalConnection(config.temporal.address, use);

  return {
    name: 'temporal',
    managed: true,
    ports: [
      { host, port, env: 'TEMPORAL_ADDRESS' },
      { host, port: uiPort, env: 'TEMPORAL_UI_PORT' },
    ],
    ...files,
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
      spawnDetached({
        command: layout.temporalBin,
        args: devServerArgs(config, layout, { host, port, uiPort }),
        env: { TEMPORAL_VERSION_CHECK_DISABLED: '1' },
        ...files,
      });
    },
    async ready(timeoutMs) {
      await waitForProcess('Temporal dev server (gRPC health)', () => this.healthy(), files, timeoutMs);
      const register = async () => (await withConnection((c) => registerSearchAttributes(c, config)), true);
      await waitFor('Temporal search attribute registration', register, { timeoutMs: 30_000, logFile: files.logFile });
    },
    healthy() {
      return temporalServing(config.temporal.address);
    },
    endpoints() {
      return [
        { name: 'Temporal gRPC', value: config.temporal.address },
        { name: 'Temporal UI', value: config.temporal.uiUrl },
      ];
    },
  };
}

function devServerArgs(
  config: Config,
  layout: StackLayout,
  bind: { host: string; port: number; uiPort: number },
): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    bind.host,
    '--port',
    String(bind.port),
    '--ui-port',
    String(bind.uiPort),
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
}

/** Registers the fraud search attributes the namespace lacks; returns their names. */
export async function registerSearchAttributes(connection: Connection, config: Config): Promise<string[]> {
  const { namespace } = config.temporal;
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = fraudSearchAttributes.filter((k) => !(k.name in (existing.customAttributes ?? {})));
  if (missing.length > 0) {
    const searchAttributes: Record<string, number> = {};
    for (const key of missing)
      searchAttributes[key.name] = temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`];
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  }
  return missing.map((k) => k.name);
}
