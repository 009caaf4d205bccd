/**
 * `fraudflow stack up | down | status | logs`: the local Kafka + Temporal + Ollama + Redis stack, with no Docker.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Config } from '../config';
import { stackLayout } from './layout';
import { alive, portOpen, readPid, stopProcess } from './processes';
import { StackError } from '../errors';
import type { StackService } from './services';
import {
  codecService,
  featureStoreService,
  kafkaService,
  ollamaService,
  postgresService,
  temporalServerService,
  temporalService,
} from './services';

export { featureStoreHealthy, pingFeatureStore } from './services';
export { StackError } from '../errors';

export function stackServices(config: Config): StackService[] {
  const layout = stackLayout(config);
  // TEMPORAL_BACKEND=postgres: the Temporal server on its PostgreSQL in place of the dev server.
  const temporal =
    config.env.TEMPORAL_BACKEND === 'postgres'
      ? [postgresService(config, layout), temporalServerService(config, layout)]
      : [temporalService(config, layout)];
  return [
    ...temporal,
    kafkaService(config, layout),
    ollamaService(config, layout),
    codecService(config, layout),
    featureStoreService(config, layout),
  ];
}

function running(service: StackService): boolean {
  return alive(service.pidFile)();
}

export interface UpOptions {
  /** Seconds each service may take to become healthy once started. @default 120 */
  timeoutSeconds?: number;
  log?: (line: string) => void;
}

/**
 * Provisions (cached), starts and health-checks every service. Idempotent: healthy services that this manager
 * started are left alone; a port held by a process it did not start is reported with the variable to change.
 * Services that run elsewhere (`managed: false`) are only health-checked.
 */
export async function stackUp(config: Config, opts: UpOptions = {}): Promise<StackService[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const timeoutMs = (opts.timeoutSeconds ?? 120) * 1000;
  const services = stackServices(config);

  const started = Date.now();
  await Promise.all(
    services.map(async (s) => {
      const t0 = Date.now();
      await s.provision();
      const took = (Date.now() - t0) / 1000;
      if (took > 1) log(`provisioned ${s.name} in ${took.toFixed(1)}s`);
    }),
  );

  for (const s of services) {
    if (!s.managed || running(s)) continue;
    for (const p of s.ports) {
      if (await portOpen(p.host, p.port)) {
        throw new StackError(
          `port ${p.host}:${p.port} needed by ${s.name} is already taken by a process fraudflow did not start. ` +
            `Stop that process, or set ${p.env} to a free port${p.alternative ? `, ${p.alternative}` : ''}.`,
        );
      }
    }
    log(`starting ${s.name} (log: ${s.logFile})`);
    s.start();
  }
  await Promise.all(services.map((s) => s.ready(timeoutMs)));
  log(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  for (const s of services) for (const e of s.endpoints()) log(`  ${e.name.padEnd(28)} ${e.value}`);
  return services;
}

/** Stops only the processes this manager started (pid files whose process still runs the recorded command). */
export async function stackDown(config: Config, log: (line: string) => void = console.log): Promise<void> {
  // Reverse order: the feature store, codec server, model server and broker go before the orchestrator. A service
  // that is not managed is still stopped if an earlier `up` started it (its pid file says so).
  for (const s of [...stackServices(config)].reverse()) {
    const stopped = await stopProcess(s.pidFile);
    log(`${s.name}: ${stopped ? 'stopped' : 'not running'}`);
  }
}

export interface ServiceStatus {
  name: string;
  /** False for a service fraudflow does not start (FEATURE_STORE_MANAGED=false): `running` is then false. */
  managed: boolean;
  pid?: number;
  running: boolean;
  healthy: boolean;
}

export async function stackStatus(config: Config): Promise<ServiceStatus[]> {
  return Promise.all(
    stackServices(config).map(async (s) => {
      const rec = readPid(s.pidFile);
      return { name: s.name, managed: s.managed, pid: rec?.pid, running: running(s), healthy: await s.healthy() };
    }),
  );
}

/** Prints the tail of each service log; with `follow`, keeps streaming (tail -F) until interrupted. */
export function stackLogs(config: Config, opts: { service?: string; follow?: boolean; lines?: number }): Promise<void> {
  const files = stackServices(config)
    .filter((s) => !opts.service || s.name === opts.service)
    .map((s) => s.logFile)
    .filter((f) => fs.existsSync(f));
  if (files.length === 0) {
    console.log('no service logs yet: run `fraudflow stack up` first');
    return Promise.resolve();
  }
  const args = ['-n', String(opts.lines ?? 50), ...(opts.follow ? ['-F'] : []), ...files];
  return new Promise((resolve) => {
    spawn('tail', args, { stdio: 'inherit' }).once('exit', () => resolve());
  });
}
