/**
 * Live statistics over published decisions: counts by outcome and path, escalations, produce-to-decision latency
 * percentiles and model spend. Used by the main job's progress line and its summary.
 */
import { fmtMs, percentile } from '../observability/figures';
import type { Decision } from '../schemas/decision';

export class DecisionStats {
  readonly byDecision = { approve: 0, review: 0, decline: 0 };
  readonly byPath = { rules: 0, local: 0, escalated: 0, fallback: 0 };
  private latencies: number[] = [];
  private sorted = true;
  count = 0;
  costUsd = 0;
  inputTokens = 0;
  outputTokens = 0;
  add(decision: Decision): void {
    this.count++;
    this.byDecision[decision.decision]++;
    this.byPath[decision.path]++;
    for (const call of decision.modelCalls) {
      this.costUsd += call.costUsd;
      this.inputTokens += call.inputTokens;
      this.outputTokens += call.outputTokens;
    }
    if (decision.source.kind === 'kafka') {
      this.latencies.push(Date.parse(decision.decidedAt) - Date.parse(decision.source.timestamp));
      this.sorted = false;
    }
  }

  latency(p: number): number {
    if (!this.sorted) {
      this.latencies.sort((a, b) => a - b);
      this.sorted = true;
    }
    return percentile(this.latencies, p);
  }

  /** One line: `120 decided | approve 90 review 20 decline 10 | local 80 escalated 25 ... | p50 ... | $0.0123`. */
  line(): string {
    const d = this.byDecision;
    const p = this.byPath;
    return [
      `${this.count} decided`,
      `approve ${d.approve} review ${d.review} decline ${d.decline}`,
      `rules ${p.rules} local ${p.local} escalated ${p.escalated} fallback ${p.fallback}`,
      `latency p50 ${fmtMs(this.latency(50))} p95 ${fmtMs(this.latency(95))} p99 ${fmtMs(this.latency(99))}`,
      `hosted cost $${this.costUsd.toFixed(4)}`,
    ].join(' | ');
  }
}
