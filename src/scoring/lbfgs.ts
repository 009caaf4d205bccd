/**
 * Limited-memory BFGS (Nocedal & Wright, Numerical Optimization, algorithm 7.4 with a backtracking Armijo line
 * search) for smooth convex objectives such as the penalised logistic loss. Memory and time per iteration are
 * linear in the number of parameters; the objective's own cost (a pass over the rows) dominates. Written here
 * because no maintained JavaScript optimiser offers it; it is short, pure and tested against known minima.
 */

export interface LbfgsOptions {
  /** Iterations at most. @default 500 */
  maxIterations?: number;
  /** Correction pairs kept. @default 10 */
  memory?: number;
  /** Stop when the relative decrease of one iteration falls below this. @default 1e-12 */
  relativeTolerance?: number;
  /** Stop when every gradient component is below this times max(1, |f|). @default 1e-9 */
  gradientTolerance?: number;
}

/** Writes ∇f(x) into `gradient` and returns f(x). */
export type Objective = (x: Float64Array, gradient: Float64Array) => number;

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** The minimiser of `f` from `start` (not modified). Deterministic. */
export function minimiseLbfgs(f: Objective, start: Float64Array, opts: LbfgsOptions = {}): Float64Array {
  const n = start.length;
  const memory = opts.memory ?? 10;
  const pairs: Array<{ s: Float64Array; y: Float64Array; rho: number }> = [];
  let x: Float64Array = Float64Array.from(start);
  let gradient: Float64Array = new Float64Array(n);
  let value = f(x, gradient);
  for (let iteration = 0; iteration < (opts.maxIterations ?? 500); iteration++) {
    if (maxAbs(gradient) <= (opts.gradientTolerance ?? 1e-9) * Math.max(1, Math.abs(value))) break;
    const direction = searchDirection(gradient, pairs);
    const step = lineSearch(f, x, value, gradient, direction, iteration === 0 ? 1 / Math.max(1, maxAbs(gradient)) : 1);
    if (!step) break;
    const s = step.x.map((v, i) => v - x[i]!);
    const y = step.gradient.map((v, i) => v - gradient[i]!);
    const curvature = dot(s, y);
    if (curvature > 1e-12) {
      pairs.push({ s, y, rho: 1 / curvature });
      if (pairs.length > memory) pairs.shift();
    }
    const decrease = value - step.value;
    [x, gradient, value] = [step.x, step.gradient, step.value];
    if (decrease <= (opts.relativeTolerance ?? 1e-12) * Math.max(1, Math.abs(value))) break;
  }
  return x;
}

/** −H·g by the two-loop recursion over the stored pairs, scaled by the newest pair's curvature. */
function searchDirection(
  gradient: Float64Array,
  pairs: ReadonlyArray<{ s: Float64Array; y: Float64Array; rho: number }>,
) {
  const q = Float64Array.from(gradient);
  const alphas: number[] = [];
  for (let k = pairs.length - 1; k >= 0; k--) {
    const { s, y, rho } = pairs[k]!;
    const alpha = rho * dot(s, q);
    alphas[k] = alpha;
    for (let i = 0; i < q.length; i++) q[i]! -= alpha * y[i]!;
  }
  const newest = pairs.at(-1);
  const gamma = newest ? dot(newest.s, newest.y) / dot(newest.y, newest.y) : 1;
  for (let i = 0; i < q.length; i++) q[i]! *= gamma;
  for (const [k, { s, y, rho }] of pairs.entries()) {
    const beta = rho * dot(y, q);
    for (let i = 0; i < q.length; i++) q[i]! += (alphas[k]! - beta) * s[i]!;
  }
  return q.map((v) => -v);
}

/** Backtracking from `initial` until the Armijo condition holds; undefined when no step decreases f. */
function lineSearch(
  f: Objective,
  x: Float64Array,
  value: number,
  gradient: Float64Array,
  direction: Float64Array,
  initial: number,
): { x: Float64Array; gradient: Float64Array; value: number } | undefined {
  let slope = dot(gradient, direction);
  if (slope >= 0) {
    // Not a descent direction (curvature pairs gone stale): fall back to steepest descent.
    direction = gradient.map((v) => -v);
    slope = dot(gradient, direction);
  }
  for (let t = initial, tries = 0; tries < 40; t *= 0.5, tries++) {
    const candidate = x.map((v, i) => v + t * direction[i]!);
    const candidateGradient = new Float64Array(x.length);
    const candidateValue = f(candidate, candidateGradient);
    if (candidateValue <= value + 1e-4 * t * slope)
      return { x: candidate, gradient: candidateGradient, value: candidateValue };
  }
  return undefined;
}
