// A stand-in shared by tests and benchmarks: no production code imports src/testing.
/**
 * Which requests the fault proxy treats as model calls, and which fault each gets: drawn from a seeded PRNG
 * (mulberry32), so the same seed, rates and request order give the same sequence of faults.
 */
import type { IncomingMessage } from 'node:http';
import { mulberry32 } from '../../generator/synthetic';

/** Probability (0..1) of each fault per model call. The rates must add up to at most 1. */
export interface FaultRates {
  /**
   * Answer 500 with an OpenAI-style error body, or 503 with Ollama's "server busy" body; 500 or 503 50/50.
   * @default 0
   */
  serverError?: number;
  /**
   * Answer 429 with a `retry-after` header (`retryAfterSeconds`) and an OpenAI-style error body.
   * @default 0
   */
  rateLimit?: number;
  /**
   * Accept the request and never answer, until the client gives up or the proxy closes.
   * @default 0
   */
  hang?: number;
  /**
   * Destroy the socket without writing a response.
   * @default 0
   */
  reset?: number;
  /**
   * Forward, then make the upstream's 200 JSON answer malformed: a chat completion's assistant message `content`
   * becomes bad model output (truncated JSON, prose, wrong field names or types, out-of-range scores); an
   * embeddings answer's `data[0].embedding` becomes empty or non-numbers (nulls, numbers as strings). Any other
   * answer (an error, a stream) is passed through and counted as `forwarded`.
   * @default 0
   */
  malformed?: number;
  /**
   * Forward after a delay of `slowMs`.
   * @default 0
   */
  slow?: number;
}

export type FaultKind = keyof FaultRates;

/** Model calls by what the proxy did to each; every call is counted exactly once. */
export type FaultCounts = Record<FaultKind | 'forwarded', number>;

/** The order in which rates are laid out on [0, 1) when a fault is drawn; part of what makes a seed reproducible. */
const FAULT_KINDS: readonly FaultKind[] = ['serverError', 'rateLimit', 'hang', 'reset', 'malformed', 'slow'];

export type ModelEndpoint = 'chat' | 'embeddings';

/** Which model call a request is, if any: a POST to `.../chat/completions` or `.../embeddings`. */
export function modelEndpoint(req: IncomingMessage): ModelEndpoint | undefined {
  if (req.method !== 'POST') return undefined;
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path.endsWith('/chat/completions')) return 'chat';
  if (path.endsWith('/embeddings')) return 'embeddings';
  return undefined;
}

/** The faults a proxy deals out: forced ones first, then drawn by the rates. */
export interface FaultSequence {
  /** The fault for the next model call, `forwarded` for none. */
  next(): FaultKind | 'forwarded';
  /** A draw in [0, 1) that picks a fault's variant (500 or 503, which malformed output). */
  variant(): number;
  setRates(rates: FaultRates): void;
  force(kind: FaultKind | 'forwarded', n: number): void;
}

export function faultSequence(seed: number, initial: FaultRates): FaultSequence {
  // Two streams, so the sequence of fault kinds does not depend on which variants were drawn along the way.
  const pickFault = mulberry32(seed);
  const pickVariant = mulberry32(seed ^ 0x9e3779b9);
  let rates = checkRates(initial);
  const forced: { kind: FaultKind | 'forwarded'; left: number }[] = [];

  return {
    next() {
      const head = forced[0];
      if (head !== undefined) {
        head.left -= 1;
        if (head.left === 0) forced.shift();
        return head.kind;
      }
      const draw = pickFault();
      let edge = 0;
      for (const kind of FAULT_KINDS) {
        edge += rates[kind];
        if (draw < edge) return kind;
      }
      return 'forwarded';
    },
    variant: pickVariant,
    setRates(next) {
      rates = checkRates(next);
    },
    force(kind, n) {
      if (kind !== 'forwarded' && !FAULT_KINDS.includes(kind)) throw new RangeError(`unknown fault kind ${kind}`);
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`forceNext needs a whole number of requests, got ${n}`);
      if (n > 0) forced.push({ kind, left: n });
    },
  };
}

/** An index in 0..length-1 from a draw in [0, 1). */
export function pick(draw: number, length: number): number {
  return Math.min(length - 1, Math.floor(draw * length));
}

function checkRates(rates: FaultRates): Record<FaultKind, number> {
  for (const key of Object.keys(rates)) {
    if (!(FAULT_KINDS as readonly string[]).includes(key)) throw new RangeError(`unknown fault kind ${key}`);
  }
  const checked = {} as Record<FaultKind, number>;
  let sum = 0;
  for (const kind of FAULT_KINDS) {
    const rate = rates[kind] ?? 0;
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new RangeError(`fault rate ${kind} must be within 0..1, got ${rate}`);
    }
    checked[kind] = rate;
    sum += rate;
  }
  // Faults are exclusive per request, so their probabilities share one unit interval.
  if (sum > 1 + 1e-9) throw new RangeError(`fault rates add up to ${sum}, more than 1`);
  return checked;
}
