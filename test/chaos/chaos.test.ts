import { describe, expect, it } from 'vitest';
import { decidedByModels, modelsDecided, runChaos } from './chaos';

/**
 * The short chaos run: the real local model behind a fault proxy (20% of calls broken), workers SIGKILLed and
 * restarted, the Temporal dev server and the Kafka broker each restarted once. `npm run chaos` is the full run.
 */
describe('chaos', () => {
  it('decides every transaction exactly once and dead-letters every invalid one through kills, restarts and faults', async () => {
    const report = await runChaos({
      count: 30,
      invalid: 3,
      localModel: 'ollama',
      killEverySeconds: 15,
      timeoutSeconds: 900,
      log: (l) => console.log(l),
    });
    console.log(JSON.stringify(report));
    // The counts are chosen, not drawn: 30 valid plus the 5 sent behind the stall, and 3 invalid messages.
    expect(report.valid).toBe(35);
    expect(report.invalid).toBe(3);
    expect(report.lost).toBe(0);
    expect(report.decided).toBe(report.valid);
    expect(report.conflictingCopies).toBe(0);
    // Each invalid message dead-lettered (copies aside), one of each reason, and nothing else dead-lettered.
    expect(report.deadLettered).toBe(3);
    expect(report.deadLetterReasons).toEqual({ invalid_json: 1, schema_violation: 1, oversized: 1 });
    expect(report.otherDeadLetters).toBe(0);
    expect(report.runningAfterSettle).toBe(0);
    expect(report.workerKills).toBeGreaterThanOrEqual(1);
    expect(report.temporalRestarts).toBe(1);
    expect(report.kafkaRestarts).toBe(1);
    // The stalled consumer was noticed and replaced: the five transactions sent behind the stall were decided.
    expect(report.stallsInjected).toBe(1);
    expect(report.consumerRestarts).toBeGreaterThanOrEqual(1);
    expect(report.faultShare).toBeGreaterThan(0.1);
    // The models decided, not the fallback: at least 70% of decisions came from a model answer, each backed by an
    // ok model call (failed attempts were retried or escalated), not every decision a fallback review.
    const byModel = decidedByModels(report);
    expect(byModel).toBeGreaterThanOrEqual(0.7 * report.decided);
    expect(report.modelPathWithoutOkCall).toBe(0);
    expect(report.modelCallOutcomes.ok).toBeGreaterThanOrEqual(byModel);
    expect(modelsDecided(report)).toBe(true);
  }, 1_200_000);
});
