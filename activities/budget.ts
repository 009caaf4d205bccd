/**
 * Budget activities: the day's hosted spend in the Redis ledger (src/models/hosted-spend-ledger.ts). A scoring
 * workflow reserves a call's most it can cost before the call and settles at what it cost after; the reserve is
 * refused once the day's cap would be passed. `readHostedSpend` and `recordHostedSpend` serve workflows started
 * before reservations existed (their histories ask for them) from the same ledger.
 */
import type { Config } from '../src/config';
import { maxAnswerTokens } from '../src/models/assessment';
import type { HostedSpendLedger, Reservation } from '../src/models/hosted-spend-ledger';
import { reservationInputTokens } from '../src/models/hosted-spend-ledger';

/** Kept for histories of 0.2.0 and before: one paid call. */
export interface HostedSpend {
  /** Unique per paid call: `<workflowId>:<provider>`. */
  callId: string;
  costUsd: number;
}

export interface ReserveRequest {
  day: string;
  callId: string;
  provider: string;
  capUsd: number;
}

export function createBudgetActivities(deps: { ledger: HostedSpendLedger; hosted: Config['hosted'] }) {
  /** The most one call to `provider` can cost: a generous prompt and the longest answer, at its prices. */
  const callCeilingUsd = (provider: string): number => {
    const p = deps.hosted.providers.find((h) => h.name === provider);
    if (!p) return 0;
    return (reservationInputTokens * p.inputUsdPerMTok + maxAnswerTokens * p.outputUsdPerMTok) / 1e6;
  };

  /** Reserves a call's ceiling within the day's cap; refused when the cap would be passed. */
  const reserveHostedSpend = (req: ReserveRequest): Promise<Reservation> =>
    deps.ledger.reserve(req.day, req.callId, callCeilingUsd(req.provider), req.capUsd);

  /** Settles a reserved call at its cost (0 when it failed: the reservation is released). */
  const settleHostedSpend = (req: { day: string; callId: string; costUsd: number }): Promise<void> =>
    deps.ledger.settle(req.day, req.callId, req.costUsd);

  /** USD spent and reserved on `day` (UTC) so far. */
  const readHostedSpend = async (req: { day: string }): Promise<number> => {
    const spend = await deps.ledger.spend(req.day);
    return spend.spentUsd + spend.reservedUsd;
  };

  /** Adds one paid call to the day's ledger (a call made without a reservation). */
  const recordHostedSpend = (req: { day: string; spend: HostedSpend }): Promise<void> =>
    deps.ledger.settle(req.day, req.spend.callId, req.spend.costUsd);

  return { reserveHostedSpend, settleHostedSpend, readHostedSpend, recordHostedSpend };
}
