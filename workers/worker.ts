/**
 * A worker process: `node --import tsx workers/worker.ts <role>` (compiled: `node dist/workers/worker.js <role>`),
 * the same process as `fraudflow worker <role>`, for process managers that start workers without the CLI.
 */
import { loadConfigOrExit } from '../src/config';
import { logger } from '../src/observability/logger';
import { servedRole, serveWorkers } from '../src/worker-set/serve';

async function run(): Promise<void> {
  await serveWorkers(loadConfigOrExit(), servedRole(process.argv[2] ?? 'all'));
}

run().catch((err: unknown) => {
  logger.error({ err }, 'fraudflow worker stopped on an error');
  process.exit(1);
});
