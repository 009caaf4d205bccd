/**
 * `fraudflow rules` and `fraudflow lists`: check, backtest, promote and roll back rule sets; change, show, import
 * and audit lists. Both live in the feature store's Redis, where workers read them on every transaction.
 */
import fs from 'node:fs';
import os from 'node:os';
import { Redis } from 'ioredis';
import type { Config } from '../config';
import { readScoredRows } from '../replay/scored-rows';
import { ReplayStore } from '../replay/store';
import type { Backtest, ListSnapshot } from '../rules/backtest';
import { backtestRuleSet } from '../rules/backtest';
import type { CompiledRuleSet } from '../rules/compile';
import { compileRuleSetText } from '../rules/compile';
import { ListKind, displayListEntry } from '../rules/list-kinds';
import { RedisListStore } from '../rules/list-store';
import type { ChangeAuthor } from '../rules/list-store';
import { RedisRuleSetStore } from '../rules/rule-store';
import { compileShippedRules } from '../rules/shipped';
import type { TuningLimits } from '../scoring/tuning';
import { defaultTuningLimits } from '../scoring/tuning';

/** Thrown for a rules or lists command used wrongly: the message says what to do. */
export class RulesCommandError extends Error {
  override name = 'RulesCommandError';
}

/** Who is changing something: --by, else the login name. */
export function authorOf(opts: { by?: string; reason?: string }): ChangeAuthor {
  if (!opts.reason?.trim()) throw new RulesCommandError('say why with --reason: every rule and list change is audited');
  return { by: opts.by?.trim() || os.userInfo().username, reason: opts.reason.trim() };
}

/** A Redis client on the feature store, closed after `work`. */
export async function withFeatureStore<T>(config: Config, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(config.featureStore.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

export function compileRulesFile(config: Config, file: string): Promise<CompiledRuleSet> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new RulesCommandError(`cannot read rules file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return compileRuleSetText(text, file, config.policy.rules);
}

/** The rule set in force now: the promoted one, or the shipped rules with this config's RULE_* limits. */
async function liveRuleSet(config: Config, redis: Redis): Promise<CompiledRuleSet> {
  return (await new RedisRuleSetStore(redis).compileLive()) ?? compileShippedRules(config.policy.rules);
}

/** Every list the rule sets reference, read once. */
async function listSnapshot(redis: Redis, sets: CompiledRuleSet[]): Promise<ListSnapshot> {
  const lists = new RedisListStore(redis);
  const snapshot: ListSnapshot = new Map();
  for (const set of sets) {
    for (const [name, kind] of Object.entries(set.lists)) {
      const id = `${kind}:${name}`;
      if (!snapshot.has(id)) snapshot.set(id, new Set(await lists.show(kind, name)));
    }
  }
  return snapshot;
}

/** The limits the champion scoring policy was tuned within (its provenance), else the tuning defaults. */
function policyLimits(config: Config): TuningLimits {
  const limits = config.scoringPolicy.policy.provenance.limits as Partial<TuningLimits> | undefined;
  return { ...defaultTuningLimits, ...limits };
}

export async function backtestCommand(config: Config, file: string, replayId: string): Promise<Backtest> {
  const started = Date.now();
  const candidate = await compileRulesFile(config, file);
  const rows = readScoredRows(new ReplayStore(config.replayDir), replayId);
  return withFeatureStore(config, async (redis) => {
    const live = await liveRuleSet(config, redis);
    const lists = await listSnapshot(redis, [candidate, live]);
    const result = backtestRuleSet({
      rows,
      candidate,
      live,
      lists,
      policy: config.policy,
      limits: policyLimits(config),
    });
    printBacktest(result, file, replayId, Date.now() - started);
    return result;
  });
}

export async function promoteCommand(
  config: Config,
  file: string,
  opts: { replay?: string; force?: boolean; by?: string; reason?: string },
): Promise<void> {
  const author = authorOf(opts);
  const set = await compileRulesFile(config, file);
  if (opts.replay) {
    const result = await backtestCommand(config, file, opts.replay);
    if (result.limitsBroken.length > 0 && !opts.force) {
      throw new Error(
        `not promoted: on replay ${opts.replay} the rules break the policy's limits (--force to promote anyway)`,
      );
    }
  } else if (!opts.force) {
    throw new RulesCommandError('promote backtests first: give --replay <replayId> (or --force to promote untested)');
  }
  await withFeatureStore(config, async (redis) => {
    const record = await new RedisRuleSetStore(redis).promote(set, file, author);
    console.log(`rules ${record.hash} (${set.rules.length} rules from ${file}) are live for new transactions`);
  });
}

export async function rollbackCommand(config: Config, opts: { by?: string; reason?: string }): Promise<void> {
  const author = authorOf(opts);
  await withFeatureStore(config, async (redis) => {
    const record = await new RedisRuleSetStore(redis).rollback(author);
    console.log(
      record
        ? `rules ${record.hash} (${record.file}, promoted ${record.promotedAt} by ${record.by}) are live again`
        : `the shipped rules are live again (${(await compileShippedRules(config.policy.rules)).hash})`,
    );
  });
}

export async function showLiveCommand(config: Config): Promise<void> {
  await withFeatureStore(config, async (redis) => {
    const record = await new RedisRuleSetStore(redis).live();
    if (!record) {
      console.log(`live: the shipped rules, ${(await compileShippedRules(config.policy.rules)).hash}`);
      return;
    }
    console.log(
      `live: ${record.hash} from ${record.file}, promoted ${record.promotedAt} by ${record.by}: ${record.reason}`,
    );
  });
}

export async function listsCommand(
  config: Config,
  action: 'add' | 'remove' | 'import',
  kindText: string,
  name: string,
  entries: string[],
  opts: { by?: string; reason?: string },
): Promise<void> {
  const kind = parseKind(kindText);
  const author = authorOf(opts);
  await withFeatureStore(config, async (redis) => {
    const lists = new RedisListStore(redis);
    const changed =
      action === 'remove'
        ? await lists.remove(kind, name, entries, author)
        : await lists.add(kind, name, entries, author, action);
    console.log(
      `${kind} list ${name}: ${changed} ${action === 'remove' ? 'removed' : 'added'} (${entries.length} given)`,
    );
  });
}

function parseKind(text: string): ListKind {
  const kind = ListKind.safeParse(text);
  if (!kind.success) throw new RulesCommandError(`unknown list kind '${text}': one of ${ListKind.options.join(', ')}`);
  return kind.data;
}

/** Entries of an import file: one per line; blank lines and `#` comments skipped; a CSV's first column. */
export function importEntries(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.split(',')[0]!.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

export async function showListsCommand(config: Config, kindText?: string, name?: string): Promise<void> {
  await withFeatureStore(config, async (redis) => {
    const lists = new RedisListStore(redis);
    if (kindText && name) {
      const kind = parseKind(kindText);
      for (const entry of await lists.show(kind, name)) console.log(displayListEntry(kind, entry));
      return;
    }
    for (const l of await lists.all()) console.log(`${l.kind.padEnd(13)} ${l.name.padEnd(32)} ${l.size}`);
  });
}

export async function listAuditCommand(config: Config, count: number): Promise<void> {
  await withFeatureStore(config, async (redis) => {
    for (const r of await new RedisListStore(redis).audit(count)) {
      const more = r.count > r.entries.length ? ` (+${r.count - r.entries.length} more)` : '';
      const kind = ListKind.safeParse(r.kind);
      const entries = kind.success ? r.entries.map((e) => displayListEntry(kind.data, e)) : r.entries;
      console.log(`${r.at} ${r.by} ${r.action} ${r.kind}:${r.name} ${entries.join(' ')}${more} — ${r.reason}`);
    }
  });
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const delta = (a: number, b: number) => `${a - b >= 0 ? '+' : ''}${((a - b) * 100).toFixed(2)} pts`;

function printBacktest(b: Backtest, file: string, replayId: string, ms: number): void {
  console.log(`rules ${b.candidate.hash} (${file}) on replay ${replayId}: ${b.labelled} labelled of ${b.rows} rows`);
  console.log(`live rules ${b.live.hash}; ${b.changed} outcomes change\n`);
  console.log(
    `${'rule'.padEnd(28)} ${'action'.padEnd(8)} ${'mode'.padEnd(6)} ${'hits'.padStart(7)} ${'fraud'.padStart(7)} ${'legit'.padStart(7)}`,
  );
  for (const r of b.rules) {
    console.log(
      `${r.rule.padEnd(28)} ${r.action.padEnd(8)} ${r.mode.padEnd(6)} ${String(r.hits).padStart(7)} ${String(r.fraudHit).padStart(7)} ${String(r.legitimateHit).padStart(7)}`,
    );
  }
  const figures: Array<[string, keyof Backtest['stored']]> = [
    ['recall (review or decline)', 'recall'],
    ['false-positive rate (declined)', 'falsePositiveRate'],
    ['review-or-decline FPR', 'reviewOrDeclineFalsePositiveRate'],
    ['review load', 'reviewShare'],
    ['escalation share', 'escalationShare'],
  ];
  console.log(
    `\n${'figure'.padEnd(32)} ${'candidate'.padStart(10)} ${'live'.padStart(10)} ${'change'.padStart(12)} ${'replay'.padStart(10)}`,
  );
  for (const [label, key] of figures) {
    const [c, l, s] = [b.candidate[key], b.live[key], b.stored[key]];
    console.log(
      `${label.padEnd(32)} ${pct(c).padStart(10)} ${pct(l).padStart(10)} ${delta(c, l).padStart(12)} ${pct(s).padStart(10)}`,
    );
  }
  console.log(`reviews: ${b.candidate.reviews} (live ${b.live.reviews})`);
  if (b.candidate.unscored > 0)
    console.log(`${b.candidate.unscored} rows a rule declined then were never scored: counted as review`);
  if (b.candidate.escalationsWithoutAnswer > 0) {
    console.log(
      `${b.candidate.escalationsWithoutAnswer} rows the candidate escalates had no hosted answer stored: first pass used`,
    );
  }
  console.log(
    b.limitsBroken.length ? `breaks the policy's limits: ${b.limitsBroken.join('; ')}` : "within the policy's limits",
  );
  console.log(`(${(ms / 1000).toFixed(1)} s)`);
}
