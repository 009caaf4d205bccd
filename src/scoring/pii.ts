/**
 * Personal data in free text: field-based redaction (redaction.ts) cannot see a card number typed into a merchant
 * name or an e-mail address in an attribute, so every string the hosted view keeps is scanned and masked here
 * before it leaves the network. Each find is replaced by a typed placeholder (`[card]`, `[email]`, ...), so a
 * hosted model still sees that something was there.
 *
 * Detection errs towards masking: a candidate is masked when its checksum or format holds, and left alone only
 * when it provably is not the kind (a 16-digit order number that fails Luhn, an IBAN whose mod-97 check fails).
 * Checks come from kept libraries: `validator` (isEmail, isIBAN, isLuhnNumber) and `libphonenumber-js` (phone
 * numbers in text, validated against full metadata).
 */
import { findPhoneNumbersInText, isSupportedCountry } from 'libphonenumber-js/max';
import validator from 'validator';

export const personalDataKinds = ['email', 'iban', 'card', 'national-id', 'phone'] as const;
export type PersonalDataKind = (typeof personalDataKinds)[number];
export type MaskCounts = Record<PersonalDataKind, number>;

export interface MaskOptions {
  /**
   * Countries (ISO 3166-1 alpha-2) whose national phone formats are recognised, e.g. the merchant's and the
   * cardholder's. International numbers (`+44 20 7946 0958`) are recognised whatever this holds.
   * @default [] (international format only)
   */
  phoneCountries?: readonly string[];
}

export function emptyMaskCounts(): MaskCounts {
  return { email: 0, iban: 0, card: 0, 'national-id': 0, phone: 0 };
}

export function addMaskCounts(into: MaskCounts, more: MaskCounts): MaskCounts {
  for (const kind of personalDataKinds) into[kind] += more[kind];
  return into;
}

/** The placeholder that replaces one find of `kind`. */
export const placeholder = (kind: PersonalDataKind): string => `[${kind}]`;

interface Span {
  start: number;
  end: number;
}

/** A run of alphanumeric groups separated by single spaces or dashes: how card numbers and IBANs are written. */
interface GroupedCandidate extends Span {
  /** Offsets of each group, in the text. */
  groups: Span[];
}

function groupedCandidates(text: string, pattern: RegExp): GroupedCandidate[] {
  const found: GroupedCandidate[] = [];
  for (const match of text.matchAll(pattern)) {
    const start = match.index;
    const groups: Span[] = [];
    for (const g of match[0].matchAll(/[A-Za-z0-9]+/g)) {
      groups.push({ start: start + g.index, end: start + g.index + g[0].length });
    }
    found.push({ start, end: start + match[0].length, groups });
  }
  return found;
}

/**
 * The longest run of whole groups inside a candidate that `accept` takes (so a card number followed by a year, or
 * an IBAN followed by a word, is still found); several may be found in one candidate.
 */
function acceptedRuns(text: string, candidate: GroupedCandidate, accept: (compact: string) => boolean): Span[] {
  const spans: Span[] = [];
  const { groups } = candidate;
  let from = 0;
  while (from < groups.length) {
    let taken: Span | undefined;
    for (let to = groups.length - 1; to >= from && !taken; to--) {
      const span = { start: groups[from]!.start, end: groups[to]!.end };
      if (accept(text.slice(span.start, span.end).replace(/[\s-]/g, ''))) taken = span;
    }
    if (taken) {
      spans.push(taken);
      const end = taken.end;
      from = groups.findIndex((g) => g.start >= end);
      if (from === -1) break;
    } else {
      from += 1;
    }
  }
  return spans;
}

const EMAIL_CANDIDATE = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
// Two letters, two check digits, then up to 30 alphanumerics written whole or in groups of up to four.
const IBAN_CANDIDATE = /\b[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{1,4}){3,8}\b/g;
// 13 to 19 digits, optionally grouped by single spaces or dashes; extra groups are trimmed by acceptedRuns.
const CARD_CANDIDATE = /(?<![\d.,])\d+(?:[ -]\d+)*(?![\d.,]\d)/g;
/**
 * National identifiers, a small documented set with each scheme's structural rules:
 * - US Social Security number written `ddd-dd-dddd` (area not 000, 666 or 9xx; group not 00; serial not 0000);
 * - UK National Insurance number `AB 12 34 56 C` (spaces optional; prefixes the scheme never issues excluded).
 */
const NATIONAL_ID_PATTERNS = [
  /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b/g,
  /\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g,
];

function isCardNumber(digits: string): boolean {
  return /^\d{13,19}$/.test(digits) && validator.isLuhnNumber(digits);
}

function isIban(compact: string): boolean {
  return validator.isIBAN(compact.toUpperCase());
}

function findEmails(text: string): Span[] {
  return [...text.matchAll(EMAIL_CANDIDATE)]
    .filter((m) => validator.isEmail(m[0]))
    .map((m) => ({ start: m.index, end: m.index + m[0].length }));
}

function findIbans(text: string): Span[] {
  return groupedCandidates(text, IBAN_CANDIDATE).flatMap((c) => acceptedRuns(text, c, isIban));
}

function findCards(text: string): Span[] {
  return groupedCandidates(text, CARD_CANDIDATE).flatMap((c) => acceptedRuns(text, c, isCardNumber));
}

function findNationalIds(text: string): Span[] {
  return NATIONAL_ID_PATTERNS.flatMap((p) =>
    [...text.matchAll(p)].map((m) => ({ start: m.index, end: m.index + m[0].length })),
  );
}

// Some national plans (Germany's, for one) accept a date such as 2026-11-24 as a valid number: a date stays.
const DATE_LIKE = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$/;

function findPhones(text: string, countries: readonly string[]): Span[] {
  const spans: Span[] = [];
  const keep = (found: ReturnType<typeof findPhoneNumbersInText>) => {
    for (const f of found) {
      if (!DATE_LIKE.test(text.slice(f.startsAt, f.endsAt).trim())) spans.push({ start: f.startsAt, end: f.endsAt });
    }
  };
  keep(findPhoneNumbersInText(text));
  for (const country of new Set(countries)) {
    if (isSupportedCountry(country)) keep(findPhoneNumbersInText(text, { defaultCountry: country }));
  }
  return spans;
}

/** Replaces `spans` (overlapping ones merged) with the kind's placeholder; returns the text and how many. */
function replaceSpans(text: string, spans: Span[], kind: PersonalDataKind): { text: string; count: number } {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const merged: Span[] = [];
  for (const s of sorted) {
    const last = merged.at(-1);
    if (last && s.start < last.end) last.end = Math.max(last.end, s.end);
    else merged.push({ ...s });
  }
  let out = text;
  for (const s of merged.reverse()) out = out.slice(0, s.start) + placeholder(kind) + out.slice(s.end);
  return { text: out, count: merged.length };
}

/**
 * Masks personal data in one string. Kinds are looked for in a fixed order (e-mail, IBAN, card, national id,
 * phone) on the text left by the kinds before, so a card number is never also counted as a phone number.
 */
export function maskPersonalData(text: string, opts: MaskOptions = {}): { text: string; counts: MaskCounts } {
  const counts = emptyMaskCounts();
  // Nothing below can match a string without a digit or an '@'; most merchant names and categories end here.
  if (!/[\d@]/.test(text)) return { text, counts };
  const finders: Record<PersonalDataKind, (t: string) => Span[]> = {
    email: findEmails,
    iban: findIbans,
    card: findCards,
    'national-id': findNationalIds,
    phone: (t) => findPhones(t, opts.phoneCountries ?? []),
  };
  let out = text;
  for (const kind of personalDataKinds) {
    const replaced = replaceSpans(out, finders[kind](out), kind);
    out = replaced.text;
    counts[kind] = replaced.count;
  }
  return { text: out, counts };
}

/** Masks every string value inside `value` (objects and arrays walked, keys kept); returns a new value. */
export function maskPersonalDataDeep<T>(value: T, opts: MaskOptions = {}): { value: T; counts: MaskCounts } {
  const counts = emptyMaskCounts();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const masked = maskPersonalData(v, opts);
      addMaskCounts(counts, masked.counts);
      return masked.text;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, walk(inner)]));
    }
    return v;
  };
  return { value: walk(value) as T, counts };
}
