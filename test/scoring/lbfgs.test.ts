import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/generator/synthetic';
import { minimiseLbfgs } from '../../src/scoring/lbfgs';
import { fitLogistic, sigmoid } from '../../src/scoring/logistic';

describe('L-BFGS', () => {
  it('finds the minimum of an ill-conditioned quadratic', () => {
    const n = 60;
    const scales = Array.from({ length: n }, (_, i) => 1 + i * 10);
    const x = minimiseLbfgs(
      (v, g) => {
        let f = 0;
        for (let i = 0; i < n; i++) {
          f += scales[i]! * (v[i]! - 1) ** 2;
          g[i] = 2 * scales[i]! * (v[i]! - 1);
        }
        return f;
      },
      Float64Array.from({ length: n }, (_, i) => n - i),
      { maxIterations: 1000 },
    );
    for (const v of x) expect(v).toBeCloseTo(1, 5);
  });

  it('minimises the Rosenbrock function from its classic start', () => {
    const x = minimiseLbfgs(
      (v, g) => {
        const [a, b] = [v[0]!, v[1]!];
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.from([-1.2, 1]),
      { maxIterations: 2000 },
    );
    expect(x[0]).toBeCloseTo(1, 4);
    expect(x[1]).toBeCloseTo(1, 4);
  });

  it('fits a logistic model whose gradient vanishes: the penalised optimum', () => {
    const random = mulberry32(4);
    const x = Array.from({ length: 2000 }, () => Array.from({ length: 20 }, () => random() * 2 - 1));
    const y = x.map((r) => (random() < sigmoid(-2 + 2 * r[0]! - r[1]! + 0.5 * r[2]!) ? 1 : 0));
    const l2 = 5;
    const m = fitLogistic(x, y, { l2 });
    // ∂/∂w_j of the penalised loss: Σ (p − y)·z_j + l2·w_j, over standardised inputs z.
    const gradient = new Array<number>(21).fill(0);
    x.forEach((r, i) => {
      const z = r.map((v, j) => (v - m.mean[j]!) / m.scale[j]!);
      const p = sigmoid(z.reduce((s, v, j) => s + v * m.weights[j]!, m.intercept));
      gradient[0]! += p - y[i]!;
      z.forEach((v, j) => (gradient[j + 1]! += (p - y[i]!) * v));
    });
    m.weights.forEach((w, j) => (gradient[j + 1]! += l2 * w));
    for (const g of gradient) expect(Math.abs(g)).toBeLessThan(1e-3);
  });
});
