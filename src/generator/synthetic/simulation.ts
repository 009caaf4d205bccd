/** The simulated world a stream draws its events from. */
import { createPopulation } from './cardholders';
import type { Population } from './cardholders';
import { MerchantCatalogue } from './merchants';
import { Random } from './random';

const CARDHOLDERS = 400;

export interface Simulation {
  /** The stream's only PRNG: a seed reproduces its stream only while the draws keep their order. */
  readonly rng: Random;
  readonly population: Population;
  readonly merchants: MerchantCatalogue;
}

export function createSimulation(seed: number): Simulation {
  const rng = new Random(seed);
  return { rng, population: createPopulation(rng, CARDHOLDERS), merchants: new MerchantCatalogue(rng) };
}
