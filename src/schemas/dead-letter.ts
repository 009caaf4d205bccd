/** DeadLetter v1: an event fraudflow could not accept, with the original bytes and why. */
import { z } from 'zod';

export const DeadLetterReason = z.enum(['invalid_json', 'schema_violation', 'oversized', 'start_failed']);

export const DeadLetter = z.object({
  schemaVersion: z.literal(1),
  reason: DeadLetterReason,
  /** Human-readable detail: zod's prettified report for schema violations. */
  detail: z.string(),
  source: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }),
  /** Original message key and value, base64, byte for byte. */
  originalKeyBase64: z.string().nullable(),
  originalValueBase64: z.string().nullable(),
  originalSizeBytes: z.number().int().nonnegative(),
  deadLetteredAt: z.iso.datetime(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
