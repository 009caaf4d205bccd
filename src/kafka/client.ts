import { Kafka, logLevel } from 'kafkajs';
import type { logCreator } from 'kafkajs';
import type { Config } from '../config';
import { logger } from '../observability/logger';

/** kafkajs' log lines as fraudflow's JSON log lines (to wherever the process logs go), not console output. */
const kafkaLogs: logCreator = () => (entry) => {
  const { message, ...fields } = entry.log;
  const line = { kafka: entry.namespace, ...fields };
  if (entry.level === logLevel.ERROR || entry.level === logLevel.NOTHING) logger.error(line, message);
  else if (entry.level === logLevel.WARN) logger.warn(line, message);
  else logger.debug(line, message);
};

/** One kafkajs client per role; kafkajs' own retries cover broker reconnects, fraudflow's logic never loops itself. */
export function createKafka(config: Config, role: string): Kafka {
  return new Kafka({
    clientId: `${config.kafka.clientId}-${role}`,
    brokers: config.kafka.brokers,
    logLevel: config.env.LOG_LEVEL === 'debug' ? logLevel.INFO : logLevel.ERROR,
    logCreator: kafkaLogs,
    retry: { initialRetryTime: 300, retries: 10, maxRetryTime: 10_000 },
  });
}
