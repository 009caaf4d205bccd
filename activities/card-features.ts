/**
 * Card-feature activities: a thin adapter from a transaction to the online card-history store and back to
 * point-in-time features, computed by the pure module that batch replay uses too.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { CardFeatures, FeatureOptions, FeatureWindow } from '../src/features/card-history';
import { computeCardFeatures, defaultFeatureWindow, historyEntryFor } from '../src/features/card-history';
import { FeatureFailureType } from '../src/features/failure-types';
import type { CardHistoryStore, StoreRead } from '../src/features/store';
import { logger } from '../src/observability/logger';
import type { TransactionEvent } from '../src/schemas/transaction-event';
import type { CardHistoryEntry } from '../src/schemas/card-features';
import type { RuleVerdict } from '../src/rules/evaluate';
import { evaluateRuleSet, ruleInputFor } from '../src/rules/evaluate';
import { listLookups, membershipsFrom } from '../src/rules/lookups';
import type { LiveRules } from '../src/rules/rule-store';
import { ruleSetKeys } from '../src/rules/rule-store';

export { FeatureFailureType } from '../src/features/failure-types';

export interface CardFeaturesRequest {
  event: TransactionEvent;
}

/**
 * The card's features, with the live rule set's verdict on the transaction when the activity evaluates rules
 * (workers since rules files). Earlier workers, and the histories they recorded, return features only; the
 * workflow takes `ruleVerdict` off before the features go on the decision.
 */
export type CardFeaturesReading = CardFeatures & { ruleVerdict?: RuleVerdict };

/** What the rules need besides the card store: the live rule set and the key prefix its lists live under. */
export interface RulesDeps {
  live: LiveRules;
  /** @default 'ff' */
  keyPrefix?: string;
}

export function createFeatureActivities(deps: {
  store: CardHistoryStore;
  /** The store's window: it cuts the history to it, so a different one here would compute from less. */
  window?: FeatureWindow;
  features?: FeatureOptions;
  /** Evaluate the live rule set here, in the card-history round trip. Without it, features only. */
  rules?: RulesDeps;
}) {
  const window = deps.window ?? defaultFeatureWindow;

  /**
   * Records the transaction on its card and returns the card's features before it. Idempotent: a retry or a
   * redelivered transaction is not recorded twice and sees the history its first attempt saw.
   */
  const computeCardFeaturesActivity = async (req: CardFeaturesRequest): Promise<CardFeaturesReading> => {
    const { event } = req;
    const entry = historyEntryFor(event);
    if (deps.rules && deps.store.readAndAppendWith) {
      return readWithRules(event, entry, deps.rules, (reads) =>
        deps.store.readAndAppendWith!(event.cardToken, entry, reads),
      );
    }
    return computeCardFeatures(
      await readHistory(event, () => deps.store.readAndAppend(event.cardToken, entry)),
      event,
      window,
      deps.features,
    );
  };

  /**
   * The history, the lists of the rule set last seen and the live rule set's hash, in one round trip. When the
   * hash says another set went live, that set's lists are read in a second one (once per worker per promotion,
   * for the transactions already in flight); the transaction is then judged by the new set.
   */
  const readWithRules = async (
    event: TransactionEvent,
    entry: CardHistoryEntry,
    rules: RulesDeps,
    read: (reads: StoreRead[]) => Promise<{ history: CardHistoryEntry[]; reads: unknown[] }>,
  ): Promise<CardFeaturesReading> => {
    const prefix = rules.keyPrefix ?? 'ff';
    const { set } = await rules.live.cached();
    const lookups = listLookups(set, event, prefix);
    const hashRead = { command: 'hget' as const, key: ruleSetKeys(prefix).live, field: 'hash' };
    let answer = await readHistory(event, () => read([...lookups.reads, hashRead]));
    const liveHash = (answer.reads.at(-1) ?? null) as string | null;
    const ruleSet = await rules.live.forLiveHash(liveHash).catch((err: unknown) => {
      logger.error({ err: String(err), liveHash }, 'live rule set does not compile; the last good set stays in force');
      return set;
    });
    let listed = lookups;
    if (ruleSet !== set) {
      listed = listLookups(ruleSet, event, prefix);
      answer = await readHistory(event, () => read(listed.reads));
    }
    const features = computeCardFeatures(answer.history, event, window, deps.features);
    const memberships = membershipsFrom(listed, answer.reads);
    return { ...features, ruleVerdict: evaluateRuleSet(ruleSet, ruleInputFor(event, features, memberships)) };
  };

  return { computeCardFeatures: computeCardFeaturesActivity };
}

/** A store read, its failure turned into the retryable failure Temporal retries within the decision deadline. */
async function readHistory<T>(event: TransactionEvent, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
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
}

/** The attempt number inside an activity; undefined when called directly (tests, scripts). */
function activityAttempt(): number | undefined {
  try {
    return Context.current().info.attempt;
  } catch {
    return undefined;
  }
}
