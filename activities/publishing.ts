/** Publishing activity: the decision goes to the decisions topic keyed by transactionId. */
import type { Producer } from 'kafkajs';
import { logger } from '../src/observability/logger';
import { recordDecision } from '../src/observability/metrics';
import type { Decision } from '../src/schemas/decision';
import type { Label } from '../src/schemas/label';

export interface PublishRequest {
  decision: Decision;
  topic: string;
}

export interface PublishLabelRequest {
  label: Label;
  topic: string;
}

export function createPublishingActivities(deps: { producer: Producer }) {
  return {
    /**
     * At-least-once: a retry after a lost ack may publish the same decision twice; consumers dedupe by
     * transactionId and the copies are identical (the decision is fixed in workflow history before publishing).
     */
    async publishDecision(req: PublishRequest): Promise<{ partition: number; offset: string }> {
      const [meta] = await deps.producer.send({
        topic: req.topic,
        acks: -1,
        messages: [
          {
            key: req.decision.transactionId,
            value: JSON.stringify(req.decision),
            headers: { 'fraudflow-schema': 'decision.v1', 'fraudflow-workflow-id': req.decision.workflowId },
          },
        ],
      });
      recordDecision(req.decision);
      logger.info(
        {
          transactionId: req.decision.transactionId,
          workflowId: req.decision.workflowId,
          decision: req.decision.decision,
          path: req.decision.path,
          provider: req.decision.modelCalls.at(-1)?.provider,
          riskScore: req.decision.riskScore,
        },
        'decision published',
      );
      return { partition: meta?.partition ?? -1, offset: meta?.baseOffset ?? '-1' };
    },

    /** An analyst's verdict as a label, keyed by transactionId; at-least-once like decisions, copies identical. */
    async publishLabel(req: PublishLabelRequest): Promise<{ partition: number; offset: string }> {
      const [meta] = await deps.producer.send({
        topic: req.topic,
        acks: -1,
        messages: [
          {
            key: req.label.transactionId,
            value: JSON.stringify(req.label),
            headers: { 'fraudflow-schema': 'label.v1' },
          },
        ],
      });
      logger.info(
        { transactionId: req.label.transactionId, outcome: req.label.outcome, source: req.label.source },
        'label published',
      );
      return { partition: meta?.partition ?? -1, offset: meta?.baseOffset ?? '-1' };
    },
  };
}
