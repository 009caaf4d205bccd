/**
 * The scoring steps shared by streaming and replay: card history and rules, the local first pass, escalation
 * within budget and deadline, then the decision policy (src/scoring/decide.ts). Deterministic workflow code;
 * every model, store and ledger call is an activity. Each step takes the decision's context and its evidence so
 * far, and adds to the evidence.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { FraudflowActivities, ModelScore } from '../activities';
import { ModelFailureType, nonRetryableModelFailures } from '../src/failure-types';
import type { CardFeatures } from '../src/schemas/card-features';
import type { Decision, DecisionSource, ModelCall, RuleHit, ScoringPath } from '../src/schemas/decision';
import type { TransactionEvent } from '../src/schemas/transaction-event';
import { decisionVersion } from '../src/schemas/versions';
import { applyDecisionPolicy, escalationWanted, settledByRules } from '../src/scoring/decide';
import type { PolicyVerdict } from '../src/scoring/decide';
import { evaluateRules } from '../src/scoring/rules';
import type { RuleVerdict } from '../src/rules/evaluate';
import type { ModelCallPolicy, ScoringSettings } from '../src/scoring/settings';

export interface ScoreTransactionInput {
  event: TransactionEvent;
  source: DecisionSource;
  settings: ScoringSettings;
  /** The card's point-in-time features, when the caller computed them (replay); otherwise read from the store. */
  features?: CardFeatures;
}

export interface ScoringStatus {
  stage: 'rules' | 'local' | 'escalating' | 'deciding' | 'publishing' | 'done';
  ruleHits: RuleHit[];
  modelCalls: ModelCall[];
  /** The case-file timeline, also shown as the workflow's current details in the UI. */
  timeline: string[];
  decision?: Decision;
}

/** How one decision's progress is reported: the streaming workflow shows it in the UI; a replay batch ignores it. */
export interface ScoringObserver {
  status: ScoringStatus;
  note(step: string): void;
}

/** A fresh status whose notes go nowhere (batch scoring). */
export function silentObserver(): ScoringObserver {
  const status: ScoringStatus = { stage: 'rules', ruleHits: [], modelCalls: [], timeline: [] };
  return { status, note: (step) => void status.timeline.push(step) };
}

/** Calls to the hosted-spend ledger: quick, retried briefly; a ledger outage must not block decisions. */
const ledgerCalls = {
  startToCloseTimeout: 10_000,
  scheduleToCloseTimeout: 30_000,
  retry: { initialInterval: '500ms', maximumInterval: '5s' },
} as const;

/**
 * The card-history step: a local activity on the orchestration worker (one Redis round trip, no task-queue hop).
 * A store outage is retried like any activity failure, within the decision deadline.
 */
const readingFeatures = {
  startToCloseTimeout: 5_000,
  scheduleToCloseTimeout: 60_000,
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
} as const;

/** Activity options for one model provider: its timeouts and retries, from config, visible in history. */
function modelActivityOptions(taskQueue: string, p: ModelCallPolicy, summary: string): ActivityOptions {
  return {
    taskQueue,
    summary,
    startToCloseTimeout: p.startToCloseMs,
    scheduleToCloseTimeout: p.scheduleToCloseMs,
    retry: {
      initialInterval: p.initialBackoffMs,
      backoffCoefficient: 2,
      maximumInterval: p.maxBackoffMs,
      maximumAttempts: p.maxAttempts,
      nonRetryableErrorTypes: nonRetryableModelFailures,
    },
  };
}

/** The decision deadline has passed: no further model or ledger call is made. */
class DeadlinePassed extends Error {}

/**
 * The decision deadline, enforced by the server through each model and ledger call's schedule-to-close timeout
 * (at most the time left) rather than by a workflow timer: no timer to start, cancel and later fire for every
 * transaction. A call cut off by the deadline fails at the deadline; past it, no call is made.
 */
class Deadline {
  constructor(
    private readonly deadlineMs: number,
    readonly startedAt: number,
  ) {}

  remainingMs(): number {
    return this.deadlineMs - (Date.now() - this.startedAt);
  }

  /** `options` with a schedule-to-close timeout of at most the time left; throws DeadlinePassed past it. */
  bound<T extends { scheduleToCloseTimeout?: number }>(options: T): T {
    const left = this.remainingMs();
    if (left <= 0) throw new DeadlinePassed();
    return { ...options, scheduleToCloseTimeout: Math.min(options.scheduleToCloseTimeout ?? left, left) };
  }

  /** After a failed call: throws DeadlinePassed when no time is left for another. */
  check(): void {
    if (this.remainingMs() <= 0) throw new DeadlinePassed();
  }
}

/** What every step of one decision works with. */
interface DecisionContext {
  input: ScoreTransactionInput;
  settings: ScoringSettings;
  observer: ScoringObserver;
  deadline: Deadline;
  /** The UTC day whose hosted budget this decision spends. */
  day: string;
  /** This transaction's paid calls are recorded in the hosted-spend ledger under this key. */
  spendKey: string;
  activities: ReturnType<typeof scoringActivities>;
}

/** What the steps have learned so far. */
interface Evidence {
  features?: CardFeatures;
  /** The live rule set's verdict, when the card-history activity evaluated it (src/rules). */
  ruleVerdict?: RuleVerdict;
  ruleHits: RuleHit[];
  local?: ModelScore;
  hosted?: ModelScore;
  /** Set when a step settles the path (rules, fallback, or escalated at the deadline). */
  settledPath?: ScoringPath;
  reasons: string[];
  /** Every model call, failed ones too: the observer's status list, so the UI sees them as they happen. */
  modelCalls: ModelCall[];
}

function scoringActivities(settings: ScoringSettings) {
  return {
    models: proxyActivities<FraudflowActivities>({ startToCloseTimeout: '1m' }),
    localModels: proxyLocalActivities<FraudflowActivities>({ startToCloseTimeout: '1m' }),
    ledger: proxyActivities<FraudflowActivities>({ taskQueue: settings.taskQueues.orchestration, ...ledgerCalls }),
  };
}

/**
 * One transaction's decision. `spendKey` identifies its paid calls in the hosted-spend ledger. The workflow that
 * calls it publishes the decision. The decision deadline runs from `deadlineFrom` (epoch ms): the scoring
 * workflow's start, so time spent waiting for a worker counts; by default from now (a replay row, scored when its
 * chunk reaches it).
 */
export async function decideTransaction(
  input: ScoreTransactionInput,
  observer: ScoringObserver,
  ids: { workflowId: string; runId: string; spendKey: string },
  deadlineFrom = Date.now(),
): Promise<{ decision: Decision; provider: string }> {
  const { settings } = input;
  const deadline = new Deadline(settings.deadlineMs, deadlineFrom);
  const day = new Date(deadline.startedAt).toISOString().slice(0, 10);
  const activities = scoringActivities(settings);
  const ctx: DecisionContext = { input, settings, observer, deadline, day, spendKey: ids.spendKey, activities };
  const evidence: Evidence = { ruleHits: [], reasons: [], modelCalls: observer.status.modelCalls };

  await readCardHistory(ctx, evidence);
  applyRules(ctx, evidence);
  await scoreUnlessSettled(ctx, evidence);
  observer.status.stage = 'deciding';
  const verdict = applyDecisionPolicy({ policy: settings.policy, ...evidence });
  const decision = decisionFrom(ctx, evidence, verdict, ids);
  observer.note(verdict.outcome.toUpperCase());
  return { decision, provider: verdict.provider };
}

/** Step 1a: the card's history before this transaction, unless the caller brought it. */
async function readCardHistory(ctx: DecisionContext, evidence: Evidence): Promise<void> {
  evidence.features = ctx.input.features;
  if (evidence.features) return;
  try {
    const { ruleVerdict, ...features } = await ctx.activities.localModels.computeCardFeatures.executeWithOptions(
      ctx.deadline.bound(readingFeatures),
      [{ event: ctx.input.event }],
    );
    evidence.features = features;
    evidence.ruleVerdict = ruleVerdict;
  } catch (err) {
    if (isCancellation(err)) throw err;
    if (err instanceof DeadlinePassed) {
      // The workflow waited for a worker past its deadline: no time is left to read the history, let alone score.
      ctx.observer.note('deadline passed');
      evidence.reasons.push(
        `decision deadline of ${ctx.settings.deadlineMs / 1000}s passed before the card history was read: sent to review`,
      );
      return;
    }
    ctx.observer.note('card history unavailable');
    evidence.reasons.push(`card history unavailable (${firstLine(failureDetail(err).error)}): sent to review`);
  }
}

/**
 * Step 1b: the rules. The live rule set's verdict when the card-history activity gave one; otherwise (the store
 * unreadable, replay rows, histories of earlier workers) the built-in rules, which the shipped rules file equals.
 */
function applyRules(ctx: DecisionContext, evidence: Evidence): void {
  const verdict = evidence.ruleVerdict;
  const ruleHits = verdict
    ? verdict.hits
    : evaluateRules(ctx.input.event, ctx.settings.policy.rules, evidence.features);
  evidence.ruleHits = ruleHits;
  ctx.observer.status.ruleHits = ruleHits;
  evidence.reasons.push(...ruleHits.map((h) => `rule ${h.rule}: ${h.detail}`));
  if (ruleHits.length > 0) ctx.observer.note(`rules: ${ruleHits.map((h) => `${h.rule}→${h.effect}`).join(', ')}`);
  if (verdict && verdict.shadowHits.length > 0) {
    ctx.observer.note(`shadow rules: ${verdict.shadowHits.map((h) => `${h.rule}→${h.effect}`).join(', ')}`);
  }
}

/** Steps 2 and 3, unless a rule declined or there is no history to score with; bounded by the deadline. */
async function scoreUnlessSettled(ctx: DecisionContext, evidence: Evidence): Promise<void> {
  if (settledByRules(evidence.ruleHits)) {
    // An allow rule approves and a block rule declines without a model (the rule set's precedence made the
    // allow the only decisive hit); neither is asked.
    evidence.settledPath = 'rules';
    return;
  }
  if (!evidence.features) {
    // Without the card's history neither the calibration nor the rules can judge it: a human does.
    evidence.settledPath = 'fallback';
    return;
  }
  try {
    await scoreFirstPass(ctx, evidence, evidence.features);
    await escalateIfNeeded(ctx, evidence, evidence.features);
  } catch (err) {
    if (!(err instanceof DeadlinePassed)) throw err;
    ctx.observer.note('deadline passed');
    evidence.reasons.push(
      `decision deadline of ${ctx.settings.deadlineMs / 1000}s passed before a usable model answer`,
    );
    evidence.settledPath = evidence.hosted ? 'escalated' : 'fallback';
  }
}

/** Step 2: the first pass on the local model (a local activity in replay, where orchestration must not throttle). */
async function scoreFirstPass(ctx: DecisionContext, evidence: Evidence, features: CardFeatures): Promise<void> {
  const { settings, observer, activities } = ctx;
  const request = {
    event: ctx.input.event,
    features,
    policyFileHash: settings.policyFileHash,
    // The old name too, for local workers not yet deployed (they read only `policyHash`).
    policyHash: settings.policyFileHash,
    model: settings.local.model,
  };
  observer.status.stage = 'local';
  const started = Date.now();
  try {
    const options = ctx.deadline.bound(
      modelActivityOptions(settings.taskQueues.localScoring, settings.local, `local model ${settings.local.model}`),
    );
    const local = settings.localFirstPassAsLocalActivity
      ? await activities.localModels.scoreWithLocalModel.executeWithOptions(
          {
            startToCloseTimeout: options.startToCloseTimeout,
            scheduleToCloseTimeout: options.scheduleToCloseTimeout,
            retry: options.retry,
            summary: options.summary,
          },
          [request],
        )
      : await activities.models.scoreWithLocalModel.executeWithOptions(options, [request]);
    evidence.local = local;
    evidence.modelCalls.push(local.call);
    observer.note(
      `local: ${local.assessment.riskScore.toFixed(2)} (confidence ${local.assessment.confidence.toFixed(2)})`,
    );
  } catch (err) {
    if (isCancellation(err) || err instanceof DeadlinePassed) throw err;
    const detail = failureDetail(err);
    evidence.modelCalls.push(failedCall('local', settings.local.model, 'local', detail, started));
    observer.note(`local: ${detail.outcome}`);
    evidence.reasons.push(`local model gave no usable answer (${firstLine(detail.error)})`);
    ctx.deadline.check();
  }
}

/**
 * Reserving each paid call in the hosted-spend ledger before making it (an atomic check against the day's cap)
 * and settling it after; histories from before it read the spend, then recorded it.
 */
const hostedReservations = 'hosted-budget-reservations';

/** Step 3: escalation when the first pass is ambiguous or failed, or a rule demands it; within the day's budget. */
async function escalateIfNeeded(ctx: DecisionContext, evidence: Evidence, features: CardFeatures): Promise<void> {
  const { policy, hosted } = ctx.settings;
  const { local, ruleHits, reasons } = evidence;
  const wanted = escalationWanted(local, policy, ruleHits);
  if (!wanted || !policy.escalationEnabled || hosted.length === 0) {
    if (wanted && local) reasons.push('first pass ambiguous and escalation is off');
    return;
  }
  const reserving = patched(hostedReservations);
  if (!reserving && !(await budgetLeft(ctx, evidence))) return budgetSpent(ctx, evidence);
  ctx.observer.status.stage = 'escalating';
  ctx.observer.note('escalate');
  for (const provider of hosted) {
    if (reserving && !(await reserveCall(ctx, evidence, provider.provider))) return budgetSpent(ctx, evidence);
    if (await askHostedProvider(ctx, evidence, features, provider, reserving)) return;
  }
  // Every provider failed: no usable escalation.
  evidence.settledPath = 'fallback';
}

function budgetSpent(ctx: DecisionContext, evidence: Evidence): void {
  const { budget } = ctx.settings;
  ctx.observer.note('hosted budget spent');
  evidence.reasons.push(`hosted budget of $${budget.dailyUsd} for ${ctx.day} is spent: no escalation`);
  if (budget.whenExhausted === 'review') evidence.settledPath = 'fallback';
}

const callIdOf = (ctx: DecisionContext, provider: string) => `${ctx.spendKey}:${provider}`;

/** Reserves one paid call within the day's cap. Fails closed to "no": a ledger we cannot reach must not cost money. */
async function reserveCall(ctx: DecisionContext, evidence: Evidence, provider: string): Promise<boolean> {
  const capUsd = ctx.settings.budget.dailyUsd;
  if (capUsd <= 0) return false;
  try {
    const reservation = await ctx.activities.ledger.reserveHostedSpend.executeWithOptions(
      ctx.deadline.bound(ledgerCalls),
      [{ day: ctx.day, callId: callIdOf(ctx, provider), provider, capUsd }],
    );
    return reservation.granted;
  } catch (err) {
    if (isCancellation(err) || err instanceof DeadlinePassed) throw err;
    ctx.deadline.check();
    evidence.reasons.push('hosted budget ledger unreachable: treated as spent');
    return false;
  }
}

/** Hosted spend still allowed today? Fails closed to "no": a ledger we cannot read must not cost money. */
async function budgetLeft(ctx: DecisionContext, evidence: Evidence): Promise<boolean> {
  const { dailyUsd } = ctx.settings.budget;
  if (dailyUsd <= 0) return false;
  try {
    const spent = await ctx.activities.ledger.readHostedSpend.executeWithOptions(ctx.deadline.bound(ledgerCalls), [
      { day: ctx.day },
    ]);
    return spent < dailyUsd;
  } catch (err) {
    if (isCancellation(err) || err instanceof DeadlinePassed) throw err;
    ctx.deadline.check();
    evidence.reasons.push('hosted budget ledger unreadable: treated as spent');
    return false;
  }
}

/** One provider of the hosted chain; true when it gave a usable answer (then its spend is in the hosted-spend ledger). */
async function askHostedProvider(
  ctx: DecisionContext,
  evidence: Evidence,
  features: CardFeatures,
  provider: ScoringSettings['hosted'][number],
  reserved: boolean,
): Promise<boolean> {
  const started = Date.now();
  try {
    const hosted = await ctx.activities.models.escalateToHostedModel.executeWithOptions(
      ctx.deadline.bound(
        modelActivityOptions(ctx.settings.taskQueues.hostedScoring, provider, `hosted ${provider.provider}`),
      ),
      [{ event: ctx.input.event, features, provider: provider.provider }],
    );
    evidence.hosted = hosted;
    evidence.modelCalls.push(hosted.call);
    ctx.observer.note(`${provider.provider}: ${hosted.assessment.riskScore.toFixed(2)}`);
    if (reserved) await settleCall(ctx, evidence, provider.provider, hosted.call.costUsd);
    else if (hosted.call.costUsd > 0) await recordSpend(ctx, evidence, provider.provider, hosted.call.costUsd);
    return true;
  } catch (err) {
    if (isCancellation(err)) throw err;
    // A failed call costs nothing: its reservation is released, past the deadline too.
    if (reserved) await settleCall(ctx, evidence, provider.provider, 0);
    if (err instanceof DeadlinePassed) throw err;
    const detail = failureDetail(err);
    evidence.modelCalls.push(failedCall(provider.provider, provider.model, 'hosted', detail, started));
    ctx.observer.note(`${provider.provider}: ${detail.outcome}`);
    evidence.reasons.push(`hosted ${provider.provider} failed (${firstLine(detail.error)})`);
    ctx.deadline.check();
    return false;
  }
}

/** A reserved call settled at its cost, even past the deadline: the ledger must not undercount. */
async function settleCall(ctx: DecisionContext, evidence: Evidence, provider: string, costUsd: number) {
  await ctx.activities.ledger
    .settleHostedSpend({ day: ctx.day, callId: callIdOf(ctx, provider), costUsd })
    .catch((err: unknown) => {
      if (isCancellation(err)) throw err;
      evidence.reasons.push('hosted spend could not be settled in the budget ledger');
    });
}

/** Money spent is recorded even past the deadline: the ledger must not undercount. */
async function recordSpend(ctx: DecisionContext, evidence: Evidence, provider: string, costUsd: number) {
  await ctx.activities.ledger
    .recordHostedSpend({ day: ctx.day, spend: { callId: callIdOf(ctx, provider), costUsd } })
    .catch((err: unknown) => {
      if (isCancellation(err)) throw err;
      evidence.reasons.push('hosted spend could not be recorded in the budget ledger');
    });
}

function decisionFrom(
  ctx: DecisionContext,
  evidence: Evidence,
  verdict: PolicyVerdict,
  ids: { workflowId: string; runId: string },
): Decision {
  const { input, settings } = ctx;
  return {
    schemaVersion: decisionVersion,
    transactionId: input.event.transactionId,
    decision: verdict.outcome,
    riskScore: verdict.riskScore,
    reasons: [...evidence.reasons, ...verdict.reasons],
    path: verdict.path,
    ruleHits: evidence.ruleHits,
    features: evidence.features,
    modelCalls: evidence.modelCalls,
    decidedAt: new Date(Date.now()).toISOString(),
    workflowId: ids.workflowId,
    runId: ids.runId,
    source: input.source,
    policyHash: settings.policyHash,
    promptVersion: settings.promptVersion,
    ...rulesRecord(evidence.ruleVerdict),
  };
}

/** The rule set's hash and its shadow hits, on decisions a rules file decided. */
function rulesRecord(verdict: RuleVerdict | undefined): Pick<Decision, 'rulesHash' | 'shadowRuleHits'> {
  if (!verdict) return {};
  return {
    rulesHash: verdict.rulesHash,
    ...(verdict.shadowHits.length > 0 ? { shadowRuleHits: verdict.shadowHits } : {}),
  };
}

export function failureDetail(err: unknown): { outcome: ModelCall['outcome']; error: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    return {
      outcome: cause.type === ModelFailureType.invalidOutput ? 'invalid_output' : 'error',
      error: `${cause.type ?? 'Error'}: ${cause.message}`,
    };
  }
  return { outcome: 'error', error: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause) };
}

function failedCall(
  provider: string,
  model: string,
  tier: ModelCall['tier'],
  detail: { outcome: ModelCall['outcome']; error: string },
  since: number,
): ModelCall {
  return {
    provider,
    model,
    tier,
    outcome: detail.outcome,
    error: detail.error.slice(0, 500),
    latencyMs: Date.now() - since,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
  };
}

export const firstLine = (s: string) => s.split('\n')[0] ?? s;
