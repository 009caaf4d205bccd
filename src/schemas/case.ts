/**
 * Cases: a `review` decision opens one (`case-<transactionId>`, workflows/work-case.ts) that waits for an analyst's
 * verdict, delivered as the `resolveCase` update. What the CLI and the console send and what they read back.
 */
import { z } from 'zod';
import { LabelOutcome } from './label';

/** The analyst's verdict: what really happened to the transaction. */
export const CaseVerdict = LabelOutcome;
export type CaseVerdict = z.infer<typeof CaseVerdict>;

/** `open` until an analyst resolves it (`resolved`) or CASE_SLA runs out (`expired`). */
export const CaseStatus = z.enum(['open', 'resolved', 'expired']);
export type CaseStatus = z.infer<typeof CaseStatus>;

/** The argument of the `resolveCase` update. */
export const ResolveCaseRequest = z.object({
  /** Must be the case's own transaction: a verdict typed into the wrong case is refused. */
  transactionId: z.string().min(1).max(128),
  verdict: CaseVerdict,
  /** Who decided; recorded on the final decision and as the label's `reportedBy`. */
  analyst: z.string().trim().min(1).max(128),
  note: z.string().max(2000).optional(),
});
export type ResolveCaseRequest = z.infer<typeof ResolveCaseRequest>;
