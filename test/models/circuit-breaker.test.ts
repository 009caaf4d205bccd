import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/models/circuit-breaker';

describe('CircuitBreaker', () => {
  function breaker() {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: () => now });
    return { b, advance: (ms: number) => (now += ms) };
  }

  it('opens after the threshold of consecutive failures and fails fast while open', () => {
    const { b } = breaker();
    for (let i = 0; i < 3; i++) {
      expect(b.tryAcquire()).toBe(true);
      b.onFailure();
    }
    expect(b.current()).toBe('open');
    expect(b.tryAcquire()).toBe(false);
  });

  it('resets the failure count on a success', () => {
    const { b } = breaker();
    b.onFailure();
    b.onFailure();
    b.onSuccess();
    b.onFailure();
    b.onFailure();
    expect(b.current()).toBe('closed');
  });

  it('half-opens after the cooldown, lets exactly one probe through, and closes when it succeeds', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.onFailure();
    advance(999);
    expect(b.tryAcquire()).toBe(false);
    advance(1);
    expect(b.current()).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    b.onSuccess();
    expect(b.current()).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
  });

  it('re-opens at once when the half-open probe fails', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.onFailure();
    advance(1000);
    expect(b.tryAcquire()).toBe(true);
    b.onFailure();
    expect(b.current()).toBe('open');
    expect(b.retryInMs()).toBe(1000);
  });
});
