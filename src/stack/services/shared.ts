/**
 * What every service of the local stack is to the stack manager, and the helpers the services share: where a
 * started process keeps its pid and output, and how `ready` waits for it.
 */
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { grpc } from '@temporalio/proto';
import type { StackLayout } from '../layout';
import { alive, waitFor } from '../processes';

export interface Endpoint {
  name: string;
  value: string;
}

export interface StackService {
  readonly name: 'temporal' | 'temporal-server' | 'postgres' | 'kafka' | 'ollama' | 'codec' | 'redis';
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

/** The pid file and log of a service's process. */
export type ProcessFiles = Pick<StackService, 'pidFile' | 'logFile'>;

/** Where a service's process keeps its pid and its output: `<run>/<name>.pid` and `<logs>/<name>.log`. */
export function processFiles(layout: StackLayout, name: StackService['name']): ProcessFiles {
  return { pidFile: path.join(layout.run, `${name}.pid`), logFile: path.join(layout.logs, `${name}.log`) };
}

/**
 * Polls `probe` until the started process is healthy. Fails at once, quoting the end of its log, if the process
 * exits: a crashed service is reported as such, not as a timeout.
 */
export function waitForProcess(
  what: string,
  probe: () => Promise<boolean>,
  files: ProcessFiles,
  timeoutMs: number,
): Promise<void> {
  return waitFor(what, probe, { timeoutMs, alive: alive(files.pidFile), logFile: files.logFile });
}

export function splitHostPort(hp: string): { host: string; port: number } {
  const i = hp.lastIndexOf(':');
  return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
}

/** Temporal's CLI and Ollama are both built from source with `go install`. */
export const goFix = 'Install Go 1.22 or newer (https://go.dev/dl) and put `go` on PATH.';

/** Runs `use` on a fresh connection to the Temporal server at `address`, closed afterwards. */
export async function withTemporalConnection<T>(
  address: string,
  use: (connection: Connection) => Promise<T>,
): Promise<T> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    return await use(connection);
  } finally {
    await connection.close();
  }
}

/** Whether the Temporal server at `address` answers its gRPC health check as serving. */
export async function temporalServing(address: string): Promise<boolean> {
  try {
    return await withTemporalConnection(address, async (connection) => {
      const res = await connection.healthService.check({});
      return res.status === grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING;
    });
  } catch {
    return false;
  }
}
