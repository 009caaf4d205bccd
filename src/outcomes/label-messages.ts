/** One Kafka message of the labels topic: a label to apply, or a refusal for the labels' dead-letter topic. */
import type { KafkaMessage } from 'kafkajs';
import { z } from 'zod';
import { Label } from '../schemas/label';
import type { Refusal } from '../kafka/transaction-messages';

/** A label is a few hundred bytes; anything this large is not one. @default 16 KiB */
export const maxLabelBytes = 16 * 1024;

export type LabelReading = { label: Label } | { refusal: Refusal };

/** The label a message holds, or exactly why it holds none. */
export function readLabelMessage(message: Pick<KafkaMessage, 'value'>, maxBytes = maxLabelBytes): LabelReading {
  const value = message.value;
  if (!value || value.length === 0) return { refusal: { reason: 'invalid_json', detail: 'empty message value' } };
  if (value.length > maxBytes) {
    return { refusal: { reason: 'oversized', detail: `message is ${value.length} bytes; the limit is ${maxBytes}` } };
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { refusal: { reason: 'invalid_json', detail: `not JSON: ${(err as Error).message}` } };
  }
  const parsed = Label.safeParse(json);
  if (!parsed.success) return { refusal: { reason: 'schema_violation', detail: z.prettifyError(parsed.error) } };
  return { label: parsed.data };
}
