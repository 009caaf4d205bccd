/**
 * Was the policy that decided tuned on the data replayed? A policy's calibration and thresholds are fitted to one
 * source's fraud rate, amounts and merchants; on another (the shipped synthetic policy on a bank's CSV) its operating
 * points say little, and the report says so. Sources are told apart by file path or Kafka topic: another period of
 * the same file or topic (a scoring window, an offset range) is the same source.
 */
import type { PolicySource } from './schema';

/** A file's path, or a Kafka topic. */
export type SourceIdentity = { kind: 'file'; path: string } | { kind: 'kafka'; topic: string };

/**
 * The identity in a replay manifest's source: `describeSource`'s `file://<path>` or `kafka://<topic> [from …] [to …]`,
 * then a scoring window (` scoring [from, until)`) when there is one. Undefined for anything else.
 */
export function sourceIdentity(uri: string): SourceIdentity | undefined {
  const bare = uri.replace(/ scoring \[[^\]]*\)$/, '');
  if (bare.startsWith('file://')) return { kind: 'file', path: bare.slice('file://'.length) };
  if (bare.startsWith('kafka://')) {
    const topic = bare.slice('kafka://'.length).split(' ')[0];
    return topic ? { kind: 'kafka', topic } : undefined;
  }
  return undefined;
}

/** The source as `fraudflow replay` takes it: a path, or `kafka:<topic>`. */
export function sourceArgument(source: SourceIdentity): string {
  return source.kind === 'file' ? source.path : `kafka:${source.topic}`;
}

const sameSource = (a: SourceIdentity, b: SourceIdentity) =>
  a.kind === 'file' ? b.kind === 'file' && a.path === b.path : b.kind === 'kafka' && a.topic === b.topic;

/** The replays a policy was tuned on, from its provenance: `replayId` (fraudflow tune), `replayIds` (model train). */
export function tuningReplaysOf(provenance: Record<string, unknown>): string[] {
  const listed: unknown[] = Array.isArray(provenance.replayIds) ? (provenance.replayIds as unknown[]) : [];
  const ids = [provenance.replayId, ...listed];
  return ids.filter((id): id is string => typeof id === 'string' && id.length > 0);
}

export interface PolicyOrigin {
  /** The policy file's name. */
  name: string;
  /** The policy shipped with fraudflow, tuned on its synthetic transactions. */
  shipped: boolean;
  /** The replays it was tuned on (tuningReplaysOf). */
  tuningReplayIds: readonly string[];
}

/**
 * The policy's tuning source against the replayed one. `sourceOf` gives a replay's manifest source, undefined when
 * the replay is not in this store; `replayed` is this replay's. Same source wins, even for the shipped policy.
 */
export function checkPolicySource(
  policy: PolicyOrigin,
  replayed: string,
  sourceOf: (replayId: string) => string | undefined,
): PolicySource {
  const here = sourceIdentity(replayed);
  const tuned = policy.tuningReplayIds.flatMap((replayId) => {
    const source = sourceOf(replayId);
    const identity = source === undefined ? undefined : sourceIdentity(source);
    return identity ? [{ replayId, identity }] : [];
  });
  const same = here ? tuned.find((t) => sameSource(t.identity, here)) : undefined;
  const compared = same ?? tuned[0];
  const base = {
    policy: policy.name,
    tuningReplayId: compared?.replayId ?? policy.tuningReplayIds[0] ?? null,
    tunedOn: compared ? sourceArgument(compared.identity) : null,
    replayed: here ? sourceArgument(here) : replayed,
  };
  if (same) return { ...base, verdict: 'same-source', warning: null };
  const tuneOne = tuneHint(base.replayed);
  if (policy.shipped) {
    return {
      ...base,
      verdict: 'shipped',
      warning: `policy ${policy.name} is the one shipped with fraudflow, tuned on its synthetic transactions, not on ${base.replayed}: unless these are those synthetic transactions, its calibration and thresholds are not fitted to this data. ${tuneOne}`,
    };
  }
  if (compared) {
    return {
      ...base,
      verdict: 'other-source',
      warning: `policy ${policy.name} was tuned on ${base.tunedOn} (replay ${compared.replayId}), not on ${base.replayed}: its calibration and thresholds are not fitted to this data. ${tuneOne}`,
    };
  }
  const why =
    base.tuningReplayId === null
      ? 'its provenance names no replay it was tuned on'
      : `it was tuned on replay ${base.tuningReplayId}, which is not in this REPLAY_DIR`;
  return {
    ...base,
    verdict: 'unknown',
    warning: `policy ${policy.name}: cannot tell whether it was tuned on ${base.replayed} (${why}). ${tuneOne}`,
  };
}

function tuneHint(source: string): string {
  return `To tune one on this source: fraudflow replay ${shellWord(source)} --prepare-only, then fraudflow tune <the replayId it prints>, and replay with --policy fraudflow-policy.json (tune on an earlier period than the one you measure: --score-until, then --score-from).`;
}

/** A path as a shell reads it back: quoted when it holds anything but plain characters. */
const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
