/**
 * A circuit breaker per model endpoint, shared by every activity on one worker process.
 *
 * State lives in worker memory on purpose: it only decides whether to attempt a call, never what was decided.
 * Losing it (a worker restart) costs at most `failureThreshold` calls to relearn that a provider is down. The
 * durable record of every attempt and failover is the workflow history.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive transient failures that open the circuit. @default 5 */
  failureThreshold: number;
  /** How long the circuit stays open before one probe is let through. @default 30000 */
  cooldownMs: number;
  now?: () => number;
}

export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probeInFlight = false;
  private readonly now: () => number;

  constructor(private readonly opts: CircuitBreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The state as callers see it now (an open circuit past its cooldown reads as half-open). */
  current(): CircuitState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.opts.cooldownMs) return 'half-open';
    return this.state;
  }

  /** Milliseconds until an open circuit lets a probe through. */
  retryInMs(): number {
    return Math.max(0, this.opts.cooldownMs - (this.now() - this.openedAt));
  }

  /** True if a call may go ahead. In half-open state exactly one probe is allowed at a time. */
  tryAcquire(): boolean {
    const state = this.current();
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.probeInFlight) return false;
    this.state = 'half-open';
    this.probeInFlight = true;
    return true;
  }

  /** The call reached the provider and got an answer (valid or not: the provider is up). */
  onSuccess(): void {
    this.state = 'closed';
    this.failures = 0;
    this.probeInFlight = false;
  }

  /** The call failed transiently (timeout, 5xx, 429, connection). */
  onFailure(): void {
    this.probeInFlight = false;
    if (this.state === 'half-open') return this.open();
    this.failures++;
    if (this.failures >= this.opts.failureThreshold) this.open();
  }

  /** A call that ended without telling us anything about the provider (cancelled). */
  onAbandon(): void {
    this.probeInFlight = false;
  }

  private open(): void {
    this.state = 'open';
    this.openedAt = this.now();
    this.failures = 0;
  }
}
