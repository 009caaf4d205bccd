/** The Temporal SDK runtime of a fraudflow process, and the worker connection that depends on it. */
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime } from '@temporalio/worker';
import type { Config } from '../config';
import { logger } from '../observability/logger';

/**
 * V8 settings for fraudflow's processes (the Docker image's NODE_OPTIONS; the benchmark starts its processes
 * with them too). A 4 MB young-generation semi-space instead of V8's 16 MB: the main thread and the workflow
 * thread each keep less garbage between scavenges, ~60 MB less RSS per worker at the same CPU per decision
 * (docs/performance.md).
 */
export const processNodeOptions = '--max-semi-space-size=4';

let runtimeInstalled = false;

/** Installs the SDK runtime once per process: its logger follows LOG_LEVEL, quieter than the SDK's default. */
export function installRuntime(config: Config, opts: { quiet?: boolean; sdkMetrics?: boolean } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level =
    config.env.LOG_LEVEL === 'debug' ? 'DEBUG' : config.env.LOG_LEVEL === 'info' && !opts.quiet ? 'WARN' : 'ERROR';
  const port = config.env.SDK_METRICS_PORT;
  // The SDK's own log lines go through fraudflow's JSON logger.
  const sdkLogger = new DefaultLogger(level, (entry) => {
    const fields = { sdk: true, ...entry.meta };
    if (entry.level === 'ERROR') logger.error(fields, entry.message);
    else if (entry.level === 'WARN') logger.warn(fields, entry.message);
    else logger.debug(fields, entry.message);
  });
  // The SDK core's own lines (e.g. "workflow task duration exceeded") go through the same logger and level,
  // not straight to the terminal.
  const logging = { filter: makeTelemetryFilterString({ core: level, other: level }), forward: {} };
  if (opts.sdkMetrics && port > 0) {
    try {
      Runtime.install({
        logger: sdkLogger,
        telemetryOptions: {
          logging,
          metrics: { prometheus: { bindAddress: `${config.env.METRICS_HOST}:${port}` } },
        },
      });
      return;
    } catch (err) {
      // A taken metrics port must not stop a worker from scoring.
      logger.warn({ err: (err as Error).message, port }, 'SDK metrics not exported');
    }
  }
  Runtime.install({ logger: sdkLogger, telemetryOptions: { logging } });
}

export function connectWorker(config: Config): Promise<NativeConnection> {
  installRuntime(config);
  return NativeConnection.connect({ address: config.temporal.address });
}
