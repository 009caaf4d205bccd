/**
 * The live rule set in the feature store (Redis), so every worker picks up a promotion from its next transaction
 * without a restart: `<prefix>:rules:live` (a hash: `hash`, and `record`, the resolved document with who promoted
 * it, when and why), the earlier live sets newest first on `<prefix>:rules:history` (what `rollback` returns to),
 * and every promotion and rollback on the stream `<prefix>:rules:audit`. No live set means the shipped rules.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { ChangeAuthor } from './list-store';
import type { CompiledRuleSet } from './compile';
import { compileRuleSetDocument } from './compile';

export const LiveRuleSetRecord = z.object({
  hash: z.string(),
  /** The resolved rules document (params with RULE_* values filled in). */
  document: z.unknown(),
  file: z.string(),
  promotedAt: z.iso.datetime(),
  by: z.string(),
  reason: z.string(),
});
export type LiveRuleSetRecord = z.infer<typeof LiveRuleSetRecord>;

/** Keys of the live rule set; the scoring round trip reads `HGET <live> hash`. */
export function ruleSetKeys(prefix: string) {
  return { live: `${prefix}:rules:live`, history: `${prefix}:rules:history`, audit: `${prefix}:rules:audit` };
}

/** Pops the newest earlier set back to live (or clears live: back to the shipped rules), atomically. */
const rollbackLua = `
local previous = redis.call('LPOP', KEYS[2])
if previous then
  redis.call('HSET', KEYS[1], 'hash', cjson.decode(previous).hash, 'record', previous)
else
  redis.call('DEL', KEYS[1])
end
return previous
`;

export class RedisRuleSetStore {
  private readonly keys: ReturnType<typeof ruleSetKeys>;

  constructor(
    private readonly redis: Redis,
    /** @default 'ff' */
    readonly prefix = 'ff',
  ) {
    this.keys = ruleSetKeys(prefix);
  }

  /** The live rule set's record; undefined while the shipped rules are in force. */
  async live(): Promise<LiveRuleSetRecord | undefined> {
    const record = await this.redis.hget(this.keys.live, 'record');
    return record === null ? undefined : parseRecord(record);
  }

  /** The live set's hash alone (cheap); null while the shipped rules are in force. */
  liveHash(): Promise<string | null> {
    return this.redis.hget(this.keys.live, 'hash');
  }

  /** Makes `set` live for new transactions; the set it replaces goes on the history for `rollback`. */
  async promote(set: CompiledRuleSet, file: string, author: ChangeAuthor): Promise<LiveRuleSetRecord> {
    const record: LiveRuleSetRecord = {
      hash: set.hash,
      document: set.document,
      file,
      promotedAt: new Date().toISOString(),
      by: author.by,
      reason: author.reason,
    };
    const previous = await this.redis.hget(this.keys.live, 'record');
    const json = JSON.stringify(record);
    const multi = this.redis.multi();
    if (previous !== null) multi.lpush(this.keys.history, previous).ltrim(this.keys.history, 0, 99);
    multi.hset(this.keys.live, 'hash', set.hash, 'record', json);
    multi.xadd(this.keys.audit, 'MAXLEN', '~', 10_000, '*', ...auditFields('promote', set.hash, file, author));
    await multi.exec();
    return record;
  }

  /** Returns to the previous live set (or the shipped rules); the record now live, undefined for the shipped rules. */
  async rollback(author: ChangeAuthor): Promise<LiveRuleSetRecord | undefined> {
    const previous = (await this.redis.eval(rollbackLua, 2, this.keys.live, this.keys.history)) as string | null;
    const record = previous === null ? undefined : parseRecord(previous);
    await this.redis.xadd(
      this.keys.audit,
      'MAXLEN',
      '~',
      10_000,
      '*',
      ...auditFields('rollback', record?.hash ?? 'shipped', record?.file ?? 'shipped rules', author),
    );
    return record;
  }

  /** The record with this hash compiled, for a worker that saw it in its round trip. */
  async compileLive(): Promise<CompiledRuleSet | undefined> {
    const record = await this.live();
    return record === undefined ? undefined : compileRuleSetDocument(record.document, `live rule set ${record.hash}`);
  }
}

function auditFields(action: string, hash: string, file: string, author: ChangeAuthor): string[] {
  return [
    'at',
    new Date().toISOString(),
    'by',
    author.by,
    'reason',
    author.reason,
    'action',
    action,
    'hash',
    hash,
    'file',
    file,
  ];
}

function parseRecord(json: string): LiveRuleSetRecord {
  const parsed = LiveRuleSetRecord.safeParse(JSON.parse(json));
  if (!parsed.success)
    throw new Error(`the live rule set in the feature store is not valid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * A worker's view of the live rule set: the compiled set for the hash it last saw, recompiled (once, however many
 * transactions see the change at the same time) when the round trip reports another hash.
 */
export class LiveRules {
  private current: Promise<{ liveHash: string | null; set: CompiledRuleSet }> | undefined;

  constructor(
    readonly store: RedisRuleSetStore,
    /** The rule set in force while none is promoted: the shipped rules with this worker's RULE_* settings. */
    private readonly shipped: () => Promise<CompiledRuleSet>,
  ) {}

  /** The set last compiled (the shipped rules before the first round trip says otherwise). */
  async cached(): Promise<{ liveHash: string | null; set: CompiledRuleSet }> {
    this.current ??= this.shipped().then((set) => ({ liveHash: null, set }));
    return this.current;
  }

  /** The set for the live hash a round trip read; compiles it when it changed. */
  async forLiveHash(liveHash: string | null): Promise<CompiledRuleSet> {
    const cached = await this.cached();
    if (cached.liveHash === liveHash) return cached.set;
    const next = this.load(liveHash);
    this.current = next;
    // A failed load (a record that no longer compiles) leaves the last good set in force for the next transaction.
    next.catch(() => (this.current = Promise.resolve(cached)));
    return (await next).set;
  }

  private async load(liveHash: string | null): Promise<{ liveHash: string | null; set: CompiledRuleSet }> {
    if (liveHash === null) return { liveHash, set: await this.shipped() };
    const set = await this.store.compileLive();
    return set === undefined ? { liveHash: null, set: await this.shipped() } : { liveHash: set.hash, set };
  }
}
