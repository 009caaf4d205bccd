/**
 * The declarative map from CSV columns to TransactionEvent fields. A user's mapping file crosses a boundary, so it is
 * parsed here rather than cast. Objects are strict: a misspelt `tokenize` or `tokenKey` would otherwise be dropped
 * without a word and let card numbers through, or make tokens guessable.
 */
import { z } from 'zod';

/** How a value is transformed once read, in this order: trim, `stripPrefix`, `lookup`, `tokenize`. */
const TextTransform = {
  /** Removed from the start of the value when present (the credit-card dataset's `fraud_` merchant prefix). */
  stripPrefix: z.string().optional(),
  /** Maps the value through a table; a value missing from it is an error row unless `fallback` is set. */
  lookup: z.record(z.string(), z.string()).readonly().optional(),
  /** Used for values missing from `lookup`. @default undefined (missing is an error) */
  fallback: z.string().optional(),
  /**
   * Replaces the value with a non-reversible token: this prefix plus the first 24 hex digits of
   * HMAC-SHA256(`ColumnMapping.tokenKey`, value). Equal inputs give equal tokens, so a card stays one card.
   */
  tokenize: z.string().optional(),
};

/**
 * Where a text value comes from, then how it is transformed (TextTransform). A bare string is shorthand for
 * `{ column }`. An empty result counts as absent: optional fields are then left out and required ones reported.
 */
export const TextSource = z.union(
  [
    z.string(),
    /** The value of one column. */
    z.strictObject({ column: z.string(), ...TextTransform }),
    /** Columns interpolated into a template: `'{first} {last}'`. */
    z.strictObject({ template: z.string(), ...TextTransform }),
    /** A constant. */
    z.strictObject({ value: z.string(), ...TextTransform }),
  ],
  { error: 'expected a column name, or an object with one of "column", "template" or "value"' },
);
export type TextSource = z.infer<typeof TextSource>;

export const TimestampFormat = z.enum(['iso', 'unix-seconds', 'YYYY-MM-DD HH:mm:ss']);
export type TimestampFormat = z.infer<typeof TimestampFormat>;

/** Column names are the header's, trimmed. */
export const ColumnMapping = z.strictObject({
  /** Short name of the layout, for messages. */
  name: z.string(),
  /**
   * HMAC key for `tokenize`. The default gives stable tokens but anyone can recompute them from a guessed value: a
   * PAN has few enough unknown digits to be guessed, so set a secret key when the source holds real card numbers.
   * @default 'fraudflow-replay-token-v1'
   */
  tokenKey: z.string().optional(),
  transactionId: TextSource,
  occurredAt: z.strictObject({
    column: z.string(),
    /** `YYYY-MM-DD HH:mm:ss` (a `T` separator and fractional seconds are accepted too) is read as UTC. @default 'iso' */
    format: TimestampFormat.optional(),
  }),
  amount: z.strictObject({
    column: z.string(),
    /** ISO 4217 code, usually `{ value: 'USD' }`; its exponent turns major units into minor units. */
    currency: TextSource,
    /** `major`: a decimal string such as `1077.69`; `minor`: an integer count of minor units. @default 'major' */
    unit: z.enum(['major', 'minor']).optional(),
  }),
  cardToken: TextSource,
  customerId: TextSource,
  accountId: TextSource.optional(),
  merchant: z.strictObject({
    id: TextSource,
    name: TextSource,
    mcc: TextSource,
    category: TextSource.optional(),
    country: TextSource,
  }),
  /** Must yield one of the Channel values. */
  channel: TextSource,
  cardholderCountry: TextSource.optional(),
  /** Left out when latitude or longitude is empty. */
  geo: z
    .strictObject({
      lat: z.string(),
      lon: z.string(),
      city: TextSource.optional(),
      country: TextSource.optional(),
    })
    .optional(),
  customer: z
    .strictObject({
      name: TextSource.optional(),
      email: TextSource.optional(),
      phone: TextSource.optional(),
      address: TextSource.optional(),
      dateOfBirth: TextSource.optional(),
    })
    .optional(),
  /** Extra string attributes by name. */
  attributes: z.record(z.string(), TextSource).readonly().optional(),
  /**
   * Ground truth. Values in `truthy` mean fraud; with `falsy` set, a value in neither list is an error row
   * (otherwise it means legitimate). An empty cell leaves the row unlabelled.
   */
  label: z
    .strictObject({
      column: z.string(),
      truthy: z.array(z.string()).readonly(),
      falsy: z.array(z.string()).readonly().optional(),
      source: z.string().optional(),
      pattern: TextSource.optional(),
    })
    .optional(),
});
export type ColumnMapping = z.infer<typeof ColumnMapping>;

/** A mapping read from `source` (a file name, for the message). Throws an Error listing every problem. */
export function parseColumnMapping(value: unknown, source: string): ColumnMapping {
  const parsed = ColumnMapping.safeParse(value);
  if (!parsed.success) throw new Error(`Column mapping ${source} is invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
