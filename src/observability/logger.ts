/**
 * Structured JSON logs (pino). Log lines carry transactionId, workflowId and provider where they apply; secrets
 * are redacted by path, and no code logs request headers or configuration objects holding keys.
 */
import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';

const redact = {
  paths: [
    'apiKey',
    '*.apiKey',
    'authorization',
    '*.authorization',
    'headers.authorization',
    'token',
    '*.token',
    'key',
    '*.key',
  ],
  censor: '[redacted]',
};

function create(destination?: DestinationStream): Logger {
  return pino(
    {
      base: { service: 'fraudflow' },
      level: process.env.LOG_LEVEL ?? 'info',
      redact,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** The process logger. */
export let logger: Logger = create();

/** Sends every log line to `destination` (tests capture logs this way). */
export function setLogDestination(destination: DestinationStream): void {
  logger = create(destination);
}
