/**
 * The kinds of list a rule set can reference, how a list entry is written down (normalized, so `add` and the
 * lookup agree) and which stored entries would match a transaction (its candidates). Pure: the Redis list store
 * (src/rules/list-store.ts) and the backtest share it.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import type { TransactionEvent } from '../schemas/transaction-event';
import { emailDomainOf } from './attributes';

export const ListKind = z.enum(['card_token', 'merchant_id', 'bin_prefix', 'country', 'email_domain', 'ip_range']);
export type ListKind = z.infer<typeof ListKind>;

/** A list's name: it appears in conditions as `lists.<name>`, so it must be a CEL identifier. */
export const ListName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a list name of lower-case letters, digits and _ (at most 64)');

/** The entry as stored, or why `raw` is not a valid entry of this kind. */
export function normalizeListEntry(
  kind: ListKind,
  raw: string,
): { ok: true; entry: string } | { ok: false; error: string } {
  const value = raw.trim();
  switch (kind) {
    case 'card_token':
    case 'merchant_id':
      return value.length >= 1 && value.length <= 128
        ? { ok: true, entry: value }
        : { ok: false, error: `expected 1-128 characters, got '${raw}'` };
    case 'bin_prefix':
      return /^\d{1,8}$/.test(value)
        ? { ok: true, entry: value }
        : { ok: false, error: `expected a BIN prefix of 1-8 digits, got '${raw}'` };
    case 'country':
      return /^[A-Za-z]{2}$/.test(value)
        ? { ok: true, entry: value.toUpperCase() }
        : { ok: false, error: `expected an ISO 3166-1 alpha-2 country code, got '${raw}'` };
    case 'email_domain':
      return /^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/i.test(value)
        ? { ok: true, entry: value.toLowerCase() }
        : { ok: false, error: `expected an e-mail domain such as example.com, got '${raw}'` };
    case 'ip_range':
      return normalizeIpRange(value);
  }
}

/**
 * The stored entries that would match this transaction, for one kind: the lookup asks the store whether any of
 * them is a member. Empty when the transaction has no such attribute (no IP, no e-mail, no BIN).
 */
export function listCandidates(kind: ListKind, event: TransactionEvent): string[] {
  switch (kind) {
    case 'card_token':
      return [event.cardToken];
    case 'merchant_id':
      return [event.merchant.id];
    case 'country':
      // The merchant's country: always present on an event, the country a fraud team reviews or blocks.
      return [event.merchant.country];
    case 'email_domain': {
      const domain = emailDomainOf(event);
      return domain ? [domain] : [];
    }
    case 'bin_prefix': {
      const bin = String(event.attributes?.bin ?? '');
      if (!/^\d{1,19}$/.test(bin)) return [];
      return Array.from({ length: Math.min(8, bin.length) }, (_, i) => bin.slice(0, i + 1));
    }
    case 'ip_range':
      return event.ipAddress ? networksContaining(event.ipAddress) : [];
  }
}

/** Whether `event` is on a list holding `entries` (the in-memory lookup the backtest uses). */
export function isListed(kind: ListKind, event: TransactionEvent, entries: ReadonlySet<string>): boolean {
  return listCandidates(kind, event).some((c) => entries.has(c));
}

/** An IP range is stored as its network in canonical form: `v4:<32 bits>/<len>` or `v6:<128 bits>/<len>` (hex). */
function normalizeIpRange(value: string): { ok: true; entry: string } | { ok: false; error: string } {
  const [address = '', lengthText] = value.split('/');
  const version = isIP(address);
  if (version === 0) return { ok: false, error: `expected an IP address or CIDR range, got '${value}'` };
  const bits = version === 4 ? 32 : 128;
  if (lengthText !== undefined && (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > bits)) {
    return { ok: false, error: `expected a prefix length 0-${bits}, got '${value}'` };
  }
  const length = lengthText === undefined ? bits : Number(lengthText);
  return { ok: true, entry: networkKey(addressBits(address), version, length) };
}

/** Every network (one per prefix length) an address belongs to, in stored form. */
function networksContaining(address: string): string[] {
  const version = isIP(address);
  if (version === 0) return [];
  const value = addressBits(address);
  const bits = version === 4 ? 32 : 128;
  return Array.from({ length: bits + 1 }, (_, len) => networkKey(value, version, len));
}

function networkKey(value: bigint, version: number, length: number): string {
  const bits = version === 4 ? 32 : 128;
  const hostBits = BigInt(bits - length);
  const network = (value >> hostBits) << hostBits;
  return `v${version}:${network.toString(16).padStart(bits / 4, '0')}/${length}`;
}

function addressBits(address: string): bigint {
  if (isIP(address) === 4) {
    return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  }
  const [head = '', tail] = address.toLowerCase().split('::');
  const groupsOf = (s: string) => (s ? s.split(':') : []).flatMap(expandEmbeddedV4);
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** `::ffff:1.2.3.4` ends in a dotted IPv4 address: two 16-bit groups. */
function expandEmbeddedV4(group: string): string[] {
  if (!group.includes('.')) return [group];
  const n = group.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
  return [(n >>> 16).toString(16), (n & 0xffff).toString(16)];
}

/** A stored entry as a person writes it: IP ranges back to address/length, everything else as stored. */
export function displayListEntry(kind: ListKind, entry: string): string {
  const match = kind === 'ip_range' ? /^v([46]):([0-9a-f]+)\/(\d+)$/.exec(entry) : null;
  if (!match) return entry;
  const [, version, hex = '', length] = match;
  const address =
    version === '4'
      ? (hex.match(/../g) ?? []).map((b) => parseInt(b, 16)).join('.')
      : (hex.match(/.{4}/g) ?? []).map((g) => parseInt(g, 16).toString(16)).join(':');
  return `${address}/${length}`;
}
