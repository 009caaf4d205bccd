/** The declarative map from CSV columns to TransactionEvent fields. */

/**
 * Where a text value comes from, then how it is transformed, in this order: trim, `stripPrefix`, `lookup`,
 * `tokenize`. A bare string is shorthand for `{ column }`. An empty result counts as absent: optional fields are
 * then left out and required ones reported.
 */
export type TextSource = string | (TextOrigin & TextTransform);

export type TextOrigin =
  /** The value of one column. */
  | { column: string }
  /** Columns interpolated into a template: `'{first} {last}'`. */
  | { template: string }
  /** A constant. */
  | { value: string };

export interface TextTransform {
  /** Removed from the start of the value when present (the credit-card dataset's `fraud_` merchant prefix). */
  stripPrefix?: string;
  /** Maps the value through a table; a value missing from it is an error row unless `fallback` is set. */
  lookup?: Readonly<Record<string, string>>;
  /** Used for values missing from `lookup`. @default undefined (missing is an error) */
  fallback?: string;
  /**
   * Replaces the value with a non-reversible token: this prefix plus the first 24 hex digits of
   * HMAC-SHA256(`ColumnMapping.tokenKey`, value). Equal inputs give equal tokens, so a card stays one card.
   */
  tokenize?: string;
}

export type TimestampFormat = 'iso' | 'unix-seconds' | 'YYYY-MM-DD HH:mm:ss';

/** A declarative map from CSV columns to TransactionEvent fields. Column names are the header's, trimmed. */
export interface ColumnMapping {
  /** Short name of the layout, for messages. */
  name: string;
  /**
   * HMAC key for `tokenize`. The default gives stable tokens but anyone can recompute them from a guessed value: a
   * PAN has few enough unknown digits to be guessed, so set a secret key when the source holds real card numbers.
   * @default 'fraudflow-replay-token-v1'
   */
  tokenKey?: string;
  transactionId: TextSource;
  occurredAt: {
    column: string;
    /** `YYYY-MM-DD HH:mm:ss` (a `T` separator and fractional seconds are accepted too) is read as UTC. @default 'iso' */
    format?: TimestampFormat;
  };
  amount: {
    column: string;
    /** ISO 4217 code, usually `{ value: 'USD' }`; its exponent turns major units into minor units. */
    currency: TextSource;
    /** `major`: a decimal string such as `1077.69`; `minor`: an integer count of minor units. @default 'major' */
    unit?: 'major' | 'minor';
  };
  cardToken: TextSource;
  customerId: TextSource;
  accountId?: TextSource;
  merchant: { id: TextSource; name: TextSource; mcc: TextSource; category?: TextSource; country: TextSource };
  /** Must yield one of the Channel values. */
  channel: TextSource;
  cardholderCountry?: TextSource;
  /** Left out when latitude or longitude is empty. */
  geo?: { lat: string; lon: string; city?: TextSource; country?: TextSource };
  customer?: {
    name?: TextSource;
    email?: TextSource;
    phone?: TextSource;
    address?: TextSource;
    dateOfBirth?: TextSource;
  };
  /** Extra string attributes by name. */
  attributes?: Readonly<Record<string, TextSource>>;
  /**
   * Ground truth. Values in `truthy` mean fraud; with `falsy` set, a value in neither list is an error row
   * (otherwise it means legitimate). An empty cell leaves the row unlabelled.
   */
  label?: {
    column: string;
    truthy: readonly string[];
    falsy?: readonly string[];
    source?: string;
    pattern?: TextSource;
  };
}
