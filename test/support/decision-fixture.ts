import type { Decision } from '../../src/schemas/decision';

/** The smallest valid Decision: an approve on the local path with no calls recorded; `over` changes any field. */
export function minimalDecision(over: Partial<Decision> = {}): Decision {
  return {
    schemaVersion: 1,
    transactionId: 't1',
    decision: 'approve',
    riskScore: 0.1,
    reasons: [],
    path: 'local',
    ruleHits: [],
    modelCalls: [],
    decidedAt: '2026-12-01T10:00:00.000Z',
    workflowId: 'score-t1',
    runId: 'run-t1',
    source: { kind: 'api' },
    policyHash: 'settings0000hash',
    promptVersion: 'fraud-analyst-v1',
    ...over,
  };
}
