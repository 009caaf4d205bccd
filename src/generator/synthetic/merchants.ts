/** The merchant catalogue, derived from names rather than the seed: the same shops exist in every stream. */
import { LOWER_ALNUM, Random, fnv1a } from './random';
import type { Category, City } from './tables';

export interface MerchantRecord {
  id: string;
  name: string;
  mcc: string;
  category: string;
  country: string;
  city?: City;
}

export class MerchantCatalogue {
  private readonly pools = new Map<string, MerchantRecord[]>();

  /** `r` is the stream's PRNG, which picks among a place's shops; the shops themselves come from their names. */
  constructor(private readonly r: Random) {}

  /** One of the shops of this category in the country, or in the city for a shop with storefronts. */
  pick(cat: Category, country: string, city?: City): MerchantRecord {
    const key = `${cat.mcc}|${country}|${city?.name ?? '*'}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = createPool(key, cat, country, city);
      this.pools.set(key, pool);
    }
    return this.r.pick(pool);
  }
}

function createPool(key: string, cat: Category, country: string, city: City | undefined): MerchantRecord[] {
  const r = new Random(fnv1a(key));
  const offset = r.int(0, cat.names.length - 1);
  const size = Math.min(cat.names.length, city ? 3 : 4);
  const pool: MerchantRecord[] = [];
  for (let i = 0; i < size; i++) {
    const base = cat.names[(offset + i) % cat.names.length] ?? cat.name;
    pool.push({
      id: `mer_${r.chars(LOWER_ALNUM, 14)}`,
      name: city ? `${base} ${city.name}` : base,
      mcc: cat.mcc,
      category: cat.name,
      country,
      ...(city ? { city } : {}),
    });
  }
  return pool;
}
