/**
 * One Kafka message of the transactions topic, as the ingest sees it: an event to score, or a refusal that goes to
 * the dead-letter topic with the original bytes and the reason.
 */
import type { KafkaMessage } from 'kafkajs';
import { InvalidTransactionEventError } from '../errors';
import type { DeadLetter } from '../schemas/dead-letter';
import type { TransactionEvent } from '../schemas/transaction-event';
import { readTransactionEvent } from '../schemas/transaction-event';
import { eventContentHash } from './content-hash';

/** Parses one Kafka message into an event, or says exactly why it cannot be one. */
export function parseTransactionMessage(message: Pick<KafkaMessage, 'value'>, maxBytes: number): TransactionEvent {
  const value = message.value;
  if (!value || value.length === 0) throw new InvalidTransactionEventError('invalid_json', 'empty message value');
  if (value.length > maxBytes) {
    throw new InvalidTransactionEventError('oversized', `message is ${value.length} bytes; the limit is ${maxBytes}`);
  }
  const reading = readTransactionEvent(value.toString('utf8'));
  if (!reading.ok) {
    const detail = reading.reason === 'invalid_json' ? `not JSON: ${reading.detail}` : reading.detail;
    throw new InvalidTransactionEventError(reading.reason, detail);
  }
  // A label (ground truth sent along with historical or synthetic traffic) never enters the scoring path.
  const { label: _label, ...event } = reading.event;
  return event;
}

export type ParsedMessage =
  { event: TransactionEvent; contentHash: string } | { invalid: InvalidTransactionEventError };

/** The event and its content hash, or the reason the message is not an event. */
export function parseOrExplain(message: KafkaMessage, maxBytes: number): ParsedMessage {
  try {
    const event = parseTransactionMessage(message, maxBytes);
    return { event, contentHash: eventContentHash(event) };
  } catch (err) {
    if (err instanceof InvalidTransactionEventError) return { invalid: err };
    throw err;
  }
}

/** Why the ingest refuses a message: it goes to the dead-letter topic with this. */
export interface Refusal {
  reason: DeadLetter['reason'];
  detail: string;
  conflict?: DeadLetter['conflict'];
}

/** The dead-letter record of a refused message: where it came from, its original bytes, and why. */
export function deadLetterRecord(
  message: KafkaMessage,
  source: { topic: string; partition: number },
  refusal: Refusal,
): DeadLetter {
  return {
    schemaVersion: 1,
    reason: refusal.reason,
    detail: refusal.detail,
    source: { topic: source.topic, partition: source.partition, offset: message.offset },
    originalKeyBase64: message.key ? message.key.toString('base64') : null,
    originalValueBase64: message.value ? message.value.toString('base64') : null,
    originalSizeBytes: message.value?.length ?? 0,
    deadLetteredAt: new Date().toISOString(),
    ...(refusal.conflict ? { conflict: refusal.conflict } : {}),
  };
}

/** The broker's timestamp of a message, or now when it has none. */
export function kafkaTimestamp(message: KafkaMessage): string {
  const ms = Number(message.timestamp);
  return new Date(Number.isFinite(ms) && ms > 0 ? ms : Date.now()).toISOString();
}
