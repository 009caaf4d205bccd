/**
 * The Kafka ingest process: `node --import tsx workers/ingest.ts` (compiled: `node dist/workers/ingest.js`), the
 * same process as `fraudflow ingest`, for process managers that start it without the CLI.
 */
import { serveIngest } from '../src/cli/ingest';
import { loadConfigOrExit } from '../src/config';
import { logger } from '../src/observability/logger';

serveIngest(loadConfigOrExit()).catch((err: unknown) => {
  logger.error({ err }, 'fraudflow ingest stopped on an error');
  process.exit(1);
});
