/**
 * Label v1: what really happened to a transaction, as it reaches fraudflow on the labels topic (keyed by
 * transactionId): an analyst's verdict on a case, a chargeback from the card network weeks later, or a customer's
 * report. Documented with examples in docs/contracts.md.
 */
import { z } from 'zod';

export const LabelOutcome = z.enum(['fraud', 'legitimate']);
export type LabelOutcome = z.infer<typeof LabelOutcome>;

/** Who said so: `analyst` (a case verdict), `chargeback` (the card network), `customer` (the cardholder). */
export const LabelSource = z.enum(['chargeback', 'analyst', 'customer']);
export type LabelSource = z.infer<typeof LabelSource>;

export const Label = z.object({
  schemaVersion: z.literal(1),
  transactionId: z.string().min(1).max(128),
  outcome: LabelOutcome,
  source: LabelSource,
  reportedAt: z.iso.datetime({ offset: true }),
  /** The network's or the team's reason code, e.g. a chargeback reason (`10.4`). */
  reasonCode: z.string().max(64).optional(),
  /** Who reported it when a person did: the analyst id on a case verdict. */
  reportedBy: z.string().max(128).optional(),
});
export type Label = z.infer<typeof Label>;
