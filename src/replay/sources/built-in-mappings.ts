/** The CSV layouts a replay can read by name, without a mapping file. */
import type { Channel } from '../../schemas/transaction-event';
import type { ColumnMapping } from './column-mapping';

/** ISO 18245 merchant category codes for the credit-card dataset's 14 categories. */
const creditCardCategoryMcc: Readonly<Record<string, string>> = {
  entertainment: '7999', // recreation services
  food_dining: '5812', // eating places, restaurants
  gas_transport: '5541', // service stations
  grocery_net: '5411', // grocery stores, supermarkets
  grocery_pos: '5411',
  health_fitness: '7997', // clubs: athletic, membership
  home: '5712', // furniture and home furnishings
  kids_pets: '5641', // children's and infants' wear
  misc_net: '5999', // miscellaneous and specialty retail
  misc_pos: '5999',
  personal_care: '7298', // health and beauty spas
  shopping_net: '5311', // department stores
  shopping_pos: '5311',
  travel: '4722', // travel agencies, tour operators
};

/** `*_net` categories are online purchases, the others in person. */
const creditCardCategoryChannel: Readonly<Record<string, Channel>> = Object.fromEntries(
  Object.keys(creditCardCategoryMcc).map((category) => [
    category,
    category.endsWith('_net') ? 'ecommerce' : 'card_present',
  ]),
);

/**
 * The widely used public credit-card transactions layout (`fraudTrain.csv` / `fraudTest.csv`: `trans_date_trans_time,
 * cc_num, merchant, category, amt, ..., trans_num, unix_time, merch_lat, merch_long, is_fraud`, often behind an
 * unnamed index column, which is ignored). `trans_date_trans_time` is read as UTC; `unix_time` is not used because it
 * is offset from it by years in the published files. The card number only ever leaves as a token.
 */
export const creditCardTransactionsMapping: ColumnMapping = {
  name: 'credit-card-transactions',
  transactionId: 'trans_num',
  occurredAt: { column: 'trans_date_trans_time', format: 'YYYY-MM-DD HH:mm:ss' },
  amount: { column: 'amt', currency: { value: 'USD' } },
  cardToken: { column: 'cc_num', tokenize: 'tok_' },
  customerId: { column: 'cc_num', tokenize: 'cus_' },
  merchant: {
    id: { column: 'merchant', stripPrefix: 'fraud_', tokenize: 'mer_' },
    name: { column: 'merchant', stripPrefix: 'fraud_' },
    mcc: { column: 'category', lookup: creditCardCategoryMcc },
    category: 'category',
    country: { value: 'US' },
  },
  channel: { column: 'category', lookup: creditCardCategoryChannel },
  cardholderCountry: { value: 'US' },
  geo: { lat: 'lat', lon: 'long', city: 'city', country: { value: 'US' } },
  customer: {
    name: { template: '{first} {last}' },
    address: { template: '{street}, {city}, {state} {zip}' },
    dateOfBirth: 'dob',
  },
  label: { column: 'is_fraud', truthy: ['1'], falsy: ['0'], source: 'credit-card-transactions' },
};

export type ReplayMappingName = 'credit-card-transactions';

const mappings: Record<ReplayMappingName, ColumnMapping> = {
  'credit-card-transactions': creditCardTransactionsMapping,
};

export function mappingFor(name: ReplayMappingName): ColumnMapping {
  return mappings[name];
}
