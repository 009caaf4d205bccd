import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../config';

/** One kafkajs client per role; kafkajs' own retries cover broker reconnects, fraudflow's logic never loops itself. */
export function createKafka(config: Config, role: string): Kafka {
  return new Kafka({
    clientId: `${config.kafka.clientId}-${role}`,
    brokers: config.kafka.brokers,
    logLevel: config.env.LOG_LEVEL === 'debug' ? logLevel.INFO : logLevel.ERROR,
    retry: { initialRetryTime: 300, retries: 10, maxRetryTime: 10_000 },
  });
}
