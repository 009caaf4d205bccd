/** Entry point for the Kafka ingest: `fraudflow ingest`. Drains cleanly on SIGTERM/SIGINT. */
import type { Config } from '../config';
import { startIngest } from '../kafka/ingest';
import { createAssignmentStore } from '../models/assignment';
import { startMetricsServer } from '../observability/metrics';
import { scoringSettingsFromConfig } from '../scoring/settings';
import { connectClient } from '../temporal/client';

export async function serveIngest(config: Config): Promise<void> {
  const client = await connectClient(config);
  const metricsServer = await startMetricsServer(config.env.METRICS_PORT, config.env.METRICS_HOST);
  const assignments = createAssignmentStore(config);
  try {
    const ingest = await startIngest({ config, client, settings: scoringSettingsFromConfig(config), assignments });
    console.log(
      `fraudflow ingest: ${config.kafka.topics.transactions} → scoring workflows (group ${config.ingest.groupId})`,
    );
    // A stall drill: SIGUSR2 pauses the consumer behind the ingest's back, as a consumer stuck after a broker restart
    // stops fetching; the stall watchdog must notice and replace it (docs/operations.md).
    process.on('SIGUSR2', () => {
      console.log('fraudflow ingest: SIGUSR2, pausing the consumer (stall drill)');
      ingest.consumer().pause([{ topic: config.kafka.topics.transactions }]);
    });
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        console.log(`fraudflow ingest: ${signal}, draining in-flight starts`);
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    await ingest.stop();
    console.log(`fraudflow ingest: stopped ${JSON.stringify(ingest.counters)}`);
  } finally {
    await assignments.close();
    await client.connection.close();
    await metricsServer?.close();
  }
}
