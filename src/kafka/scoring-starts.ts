/**
 * Starting one scoring workflow per transaction, idempotently: the workflow id is the transactionId's, and an id
 * already taken is judged by the content hash in the existing workflow's memo (a redelivery, or a conflicting
 * duplicate to refuse).
 */
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { KafkaMessage } from 'kafkajs';
import { formatMoney } from '../money';
import { metrics } from '../observability/metrics';
import type { TransactionEvent } from '../schemas/transaction-event';
import type { ScoringSettings } from '../scoring/settings';
import { scoringWorkflowId } from '../workflow-ids';
import type { scoreTransactionWorkflow } from '../../workflows/score-transaction';
import type { IngestCounters } from './ingest';
import type { Refusal } from './transaction-messages';
import { kafkaTimestamp } from './transaction-messages';

/** Memo key under which the ingest records the content hash of the event a scoring workflow was started from. */
export const contentHashMemoKey = 'contentHash';

/** Where the event came from, and the settings (the champion in force) its workflow gets. */
export interface StartContext {
  topic: string;
  partition: number;
  message: KafkaMessage;
  settings: ScoringSettings;
}

export class ScoringStarts {
  constructor(
    private readonly deps: {
      client: Client;
      /** The orchestration task queue of the ingest's settings. */
      taskQueue: string;
      counters: IngestCounters;
      log: (line: string) => void;
      /** While stopping, a failed start is not retried: the message stays uncommitted and is redelivered. */
      stopping: () => boolean;
    },
  ) {}

  /**
   * Starts the workflow, or judges the duplicate when its id is taken; retries while Temporal is unreachable,
   * because dropping the event is never an option. Resolves with a refusal to dead-letter, or with whether a new
   * workflow was started.
   */
  async start(event: TransactionEvent, contentHash: string, at: StartContext): Promise<Refusal | boolean> {
    let delay = 250;
    for (;;) {
      try {
        return await this.startOnce(event, contentHash, at);
      } catch (err) {
        if (this.deps.stopping()) throw err;
        this.deps.counters.startRetries++;
        this.deps.log(
          `ingest: starting ${event.transactionId} failed (${(err as Error).message}); retrying in ${delay}ms`,
        );
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  private async startOnce(event: TransactionEvent, contentHash: string, at: StartContext): Promise<Refusal | boolean> {
    const workflowId = scoringWorkflowId(event.transactionId);
    try {
      await this.deps.client.workflow.start<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
        taskQueue: this.deps.taskQueue,
        workflowId,
        // Any existing workflow, running or finished within retention, makes the start fail; the duplicate is
        // then judged by its content hash. (USE_EXISTING would hide whether this start created the run.)
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        memo: { [contentHashMemoKey]: contentHash },
        args: [
          {
            event,
            source: {
              kind: 'kafka',
              topic: at.topic,
              partition: at.partition,
              offset: at.message.offset,
              timestamp: kafkaTimestamp(at.message),
            },
            settings: at.settings,
          },
        ],
        staticSummary: `${event.transactionId}: ${formatMoney(event.amount)} at ${event.merchant.name} (MCC ${event.merchant.mcc})`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        return (await this.judgeDuplicate(workflowId, contentHash)) ?? false;
      throw err;
    }
    this.deps.counters.started++;
    metrics.ingested.inc();
    return true;
  }

  /**
   * The transactionId already has a workflow: a redelivery if that workflow was started from the same content,
   * a conflicting duplicate if not. The hash is in the existing workflow's memo; a workflow started without one
   * (by another client) cannot be compared and counts as a redelivery.
   */
  private async judgeDuplicate(workflowId: string, contentHash: string): Promise<Refusal | undefined> {
    const { counters, log } = this.deps;
    const described = await this.deps.client.workflow.getHandle(workflowId).describe();
    const existing = described.memo?.[contentHashMemoKey];
    if (typeof existing !== 'string' || existing === contentHash) {
      if (typeof existing !== 'string') log(`ingest: ${workflowId} has no content hash; taken as a redelivery`);
      counters.duplicates++;
      metrics.duplicates.inc({ kind: 'identical' });
      return undefined;
    }
    counters.conflictingDuplicates++;
    metrics.duplicates.inc({ kind: 'conflicting' });
    return {
      reason: 'conflicting_duplicate',
      detail: `transactionId already scored by ${workflowId} from other content; this event is refused`,
      conflict: {
        transactionId: workflowId.replace(/^score-/, ''),
        workflowId,
        existingContentHash: existing,
        receivedContentHash: contentHash,
      },
    };
  }
}
