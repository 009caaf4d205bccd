/**
 * Lists in the feature store (Redis): one set per list, `<prefix>:list:<kind>:<name>`, holding normalized entries
 * (src/rules/list-kinds.ts). Every change is written in one MULTI with its audit record on the stream
 * `<prefix>:lists:audit` (who, when, why, what), which a team reads back with `fraudflow lists audit` or XRANGE.
 * The scoring path does not use this class: it asks for membership in the card-history round trip
 * (src/features/store.ts, `readCardContext`).
 */
import type { Redis } from 'ioredis';
import type { ListKind } from './list-kinds';
import { ListKind as ListKindSchema, normalizeListEntry } from './list-kinds';

/** Who changed a list and why: required on every change. */
export interface ChangeAuthor {
  by: string;
  reason: string;
}

export interface ListAuditRecord {
  id: string;
  at: string;
  by: string;
  reason: string;
  action: 'add' | 'remove' | 'import';
  kind: string;
  name: string;
  /** The entries changed (the first 100 of an import). */
  entries: string[];
  count: number;
}

/** The Redis keys lists live under, shared by the list store and the scoring lookup. */
export function listKey(prefix: string, kind: ListKind, name: string): string {
  return `${prefix}:list:${kind}:${name}`;
}

/** Thrown when a list change is refused (an invalid entry, no author or reason); nothing was changed. */
export class ListChangeError extends Error {
  override name = 'ListChangeError';
}

/** @default audit stream cap: the last 100,000 changes */
const auditMaxLength = 100_000;

export class RedisListStore {
  constructor(
    private readonly redis: Redis,
    /** @default 'ff' */
    private readonly prefix = 'ff',
  ) {}

  private get auditKey() {
    return `${this.prefix}:lists:audit`;
  }
  private get indexKey() {
    return `${this.prefix}:lists:index`;
  }

  /** Adds entries (normalized; an invalid one refuses the whole change); returns how many were new. */
  async add(kind: ListKind, name: string, raw: string[], author: ChangeAuthor, action: 'add' | 'import' = 'add') {
    return this.change(kind, name, raw, author, action);
  }

  async remove(kind: ListKind, name: string, raw: string[], author: ChangeAuthor): Promise<number> {
    return this.change(kind, name, raw, author, 'remove');
  }

  /** A list's entries, sorted. */
  async show(kind: ListKind, name: string): Promise<string[]> {
    return (await this.redis.smembers(listKey(this.prefix, kind, name))).sort();
  }

  /** Every list that was ever changed, with its current size. */
  async all(): Promise<Array<{ kind: ListKind; name: string; size: number }>> {
    const ids = (await this.redis.smembers(this.indexKey)).sort();
    const lists = ids.map((id) => {
      const [kind = '', name = ''] = id.split(':');
      return { kind: ListKindSchema.parse(kind), name };
    });
    const sizes = await Promise.all(lists.map((l) => this.redis.scard(listKey(this.prefix, l.kind, l.name))));
    return lists.map((l, i) => ({ ...l, size: sizes[i] ?? 0 }));
  }

  /** The latest audit records, newest first. */
  async audit(count = 50): Promise<ListAuditRecord[]> {
    const rows = await this.redis.xrevrange(this.auditKey, '+', '-', 'COUNT', count);
    return rows.map(([id, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      return {
        id,
        at: f.at ?? '',
        by: f.by ?? '',
        reason: f.reason ?? '',
        action: (f.action ?? 'add') as ListAuditRecord['action'],
        kind: f.kind ?? '',
        name: f.name ?? '',
        entries: JSON.parse(f.entries ?? '[]') as string[],
        count: Number(f.count ?? 0),
      };
    });
  }

  private async change(
    kind: ListKind,
    name: string,
    raw: string[],
    author: ChangeAuthor,
    action: ListAuditRecord['action'],
  ): Promise<number> {
    if (!author.by.trim() || !author.reason.trim())
      throw new ListChangeError('a list change needs who (--by) and why (--reason)');
    const entries = normalizeAll(kind, raw);
    if (entries.length === 0) throw new ListChangeError('no entries given');
    const key = listKey(this.prefix, kind, name);
    const multi = this.redis.multi();
    if (action === 'remove') multi.srem(key, ...entries);
    else multi.sadd(key, ...entries);
    multi.sadd(this.indexKey, `${kind}:${name}`);
    multi.xadd(this.auditKey, 'MAXLEN', '~', auditMaxLength, '*', ...auditFields(kind, name, entries, author, action));
    const results = await multi.exec();
    const [err, changed] = results?.[0] ?? [new Error('the list change was not applied')];
    if (err) throw err;
    return Number(changed);
  }
}

function auditFields(
  kind: ListKind,
  name: string,
  entries: string[],
  author: ChangeAuthor,
  action: ListAuditRecord['action'],
): string[] {
  return [
    'at',
    new Date().toISOString(),
    'by',
    author.by,
    'reason',
    author.reason,
    'action',
    action,
    'kind',
    kind,
    'name',
    name,
    'entries',
    JSON.stringify(entries.slice(0, 100)),
    'count',
    String(entries.length),
  ];
}

/** Every entry normalized, or an error naming each invalid one. */
function normalizeAll(kind: ListKind, raw: string[]): string[] {
  const errors: string[] = [];
  const entries = new Set<string>();
  raw.forEach((value, i) => {
    const n = normalizeListEntry(kind, value);
    if (n.ok) entries.add(n.entry);
    else errors.push(`entry ${i + 1}: ${n.error}`);
  });
  if (errors.length > 0)
    throw new ListChangeError(`invalid ${kind} entries, nothing changed:\n${errors.slice(0, 20).join('\n')}`);
  return [...entries];
}
