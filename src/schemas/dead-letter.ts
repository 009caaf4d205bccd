/** DeadLetter v1: an event fraudflow could not accept, with the original bytes and why. */
import { z } from 'zod';

export const DeadLetterReason = z.enum([
  'invalid_json',
  'schema_violation',
  'oversized',
  'start_failed',
  'conflicting_duplicate',
]);

/** A content hash: `sha256:` and 64 hex digits (src/kafka/content-hash.ts). */
export const ContentHash = z.string().regex(/^sha256:[0-9a-f]{64}$/);

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
  /**
   * Only with reason `conflicting_duplicate`: the transactionId was already scored (or is being scored) from an
   * event with other content. The first event stays the one decided; this one is refused.
   */
  conflict: z
    .object({
      transactionId: z.string(),
      workflowId: z.string(),
      /** Hash of the event the existing workflow was started with. */
      existingContentHash: ContentHash,
      /** Hash of this, refused, event. */
      receivedContentHash: ContentHash,
    })
    .optional(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
