/**
 * Card-feature activities: a thin adapter from a transaction to the online card-history store and back to
 * point-in-time features, computed by the pure module that batch replay uses too.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { CardFeatures, FeatureOptions, FeatureWindow } from '../src/features/card-history';
import { computeCardFeatures, defaultFeatureWindow, historyEntryFor } from '../src/features/card-history';
import { FeatureFailureType } from '../src/features/failure-types';
import type { CardHistoryStore } from '../src/features/store';
import { logger } from '../src/observability/logger';
import type { TransactionEvent } from '../src/schemas/transaction-event';

export { FeatureFailureType } from '../src/features/failure-types';

export interface CardFeaturesRequest {
  event: TransactionEvent;
}

export function createFeatureActivities(deps: {
  store: CardHistoryStore;
  /** The store's window: it cuts the history to it, so a different one here would compute from less. */
  window?: FeatureWindow;
  features?: FeatureOptions;
}) {
  const window = deps.window ?? defaultFeatureWindow;

  /**
   * Records the transaction on its card and returns the card's features before it. Idempotent: a retry or a
   * redelivered transaction is not recorded twice and sees the history its first attempt saw.
   */
  const computeCardFeaturesActivity = async (req: CardFeaturesRequest): Promise<CardFeatures> => {
    const { event } = req;
    let history;
    try {
      history = await deps.store.readAndAppend(event.cardToken, historyEntryFor(event));
    } catch (err) {
      const message = `feature store unavailable: ${err instanceof Error ? err.message : String(err)}`;
      logger.warn(
        { transactionId: event.transactionId, attempt: activityAttempt(), err: message },
        'card history not read; Temporal retries',
      );
      throw ApplicationFailure.create({
        type: FeatureFailureType.storeUnavailable,
        message,
        nonRetryable: false,
        details: [{ transactionId: event.transactionId }],
      });
    }
    return computeCardFeatures(history, event, window, deps.features);
  };

  return { computeCardFeatures: computeCardFeaturesActivity };
}

/** The attempt number inside an activity; undefined when called directly (tests, scripts). */
function activityAttempt(): number | undefined {
  try {
    return Context.current().info.attempt;
  } catch {
    return undefined;
  }
}
