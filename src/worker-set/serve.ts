/**
 * `fraudflow worker <orchestration|local-scoring|hosted-scoring|shadow-scoring|cases|all>`: serves the worker set of one
 * role (or, in the dev mode `all`, of every role) until SIGINT or SIGTERM.
 */
import type { Config } from '../config';
import { createAssignmentStore } from '../models/assignment';
import { logger } from '../observability/logger';
import { startMetricsServer } from '../observability/metrics';
import { connectClient } from '../temporal/client';
import type { WorkerRole, WorkerSet } from './index';
import { startWorkerSet, workerRoles } from './index';
import { installRuntime } from './runtime';

export const servedRoles = [...workerRoles, 'all'] as const;
export type ServedRole = (typeof servedRoles)[number];

/** The role named on a command line, or an error that lists the roles. */
export function servedRole(name: string): ServedRole {
  const role = servedRoles.find((r) => r === name);
  if (!role) throw new Error(`unknown worker role '${name}'; expected one of ${servedRoles.join(', ')}`);
  return role;
}

export async function serveWorkers(config: Config, role: ServedRole): Promise<void> {
  installRuntime(config, { sdkMetrics: true });
  const metricsServer = await startMetricsServer(config.env.METRICS_PORT, config.env.METRICS_HOST);
  const client = await connectClient(config);
  const assignments = createAssignmentStore(config);
  try {
    const roles: readonly WorkerRole[] = role === 'all' ? workerRoles : [role];
    const set = await startWorkerSet({ config, client, assignments, roles });
    logger.info({ role, workers: describeWorkers(set), metrics: metricsServer?.url }, 'fraudflow worker polling');
    // Worker.run() installs SIGINT/SIGTERM handlers: in-flight tasks finish, then the set's workers stop.
    await set.finished.finally(() => set.close());
  } finally {
    await assignments.close();
    await client.connection.close();
    await metricsServer?.close();
  }
}

function describeWorkers(set: WorkerSet) {
  return set.workers.map((w) => ({
    taskQueue: w.options.taskQueue,
    workflowTaskSlots: w.options.workflowBundle ? w.options.maxConcurrentWorkflowTaskExecutions : undefined,
    cachedWorkflows: w.options.workflowBundle ? w.options.maxCachedWorkflows : undefined,
    activitySlots: w.options.maxConcurrentActivityTaskExecutions,
  }));
}
