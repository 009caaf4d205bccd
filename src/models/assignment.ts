/**
 * Which local model and scoring policy decide new transactions: the champion, a challenger scored in shadow, and
 * the champions before it (for rollback). The assignment and the policies' texts live in the online store
 * (Redis), so every ingest and worker process sees a promotion at once, without a restart. No champion means the
 * configured model and policy (LOCAL_MODEL_NAME, SCORING_POLICY_FILE).
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Config } from '../config';
import { z } from 'zod';
import type { LoadedPolicy } from '../scoring/policy-file';
import { parsePolicyText } from '../scoring/policy-file';
import { readRenamed } from '../schemas/renamed-field';

const PolicyRefFields = z.object({
  model: z.string().min(1),
  /** The hash of the policy file fitted for the model (not a settings `policyHash`). */
  policyFileHash: z.string().min(1),
});

/** A model and the policy file fitted for it. */
/** Assignments stored before the rename carry the policy-file hash as `policyHash`. */
export const PolicyRef = z.preprocess(readRenamed('policyHash', 'policyFileHash'), PolicyRefFields);
export type PolicyRef = z.infer<typeof PolicyRef>;

export const ModelAssignment = z.object({
  /** null: the configured model and policy. */
  champion: PolicyRef.nullable(),
  challenger: PolicyRef.nullable(),
  /** Earlier champions, most recent last; rollback returns to the last one. */
  previous: z.array(PolicyRef.nullable()),
  version: z.number().int().min(0),
  changedAt: z.string(),
});
export type ModelAssignment = z.infer<typeof ModelAssignment>;

export const configuredAssignment: ModelAssignment = {
  champion: null,
  challenger: null,
  previous: [],
  version: 0,
  changedAt: new Date(0).toISOString(),
};

export class AssignmentError extends Error {
  override name = 'AssignmentError';
}

const sameRef = (a: PolicyRef | null, b: PolicyRef | null) =>
  a?.model === b?.model && a?.policyFileHash === b?.policyFileHash;

const next = (a: ModelAssignment, change: Partial<ModelAssignment>): ModelAssignment => ({
  ...a,
  ...change,
  version: a.version + 1,
  changedAt: new Date().toISOString(),
});

/** The challenger (or `ref`) becomes the champion; the champion before it is kept for rollback. */
export function promote(a: ModelAssignment, ref: PolicyRef): ModelAssignment {
  if (sameRef(a.champion, ref))
    throw new AssignmentError(`${ref.model} (policy file ${ref.policyFileHash}) is the champion`);
  return next(a, {
    champion: ref,
    challenger: sameRef(a.challenger, ref) ? null : a.challenger,
    previous: [...a.previous, a.champion].slice(-20),
  });
}

/** The previous champion decides again; the one rolled back from is dropped. */
export function rollback(a: ModelAssignment): ModelAssignment {
  if (a.previous.length === 0) throw new AssignmentError('no previous champion to roll back to');
  return next(a, { champion: a.previous.at(-1) ?? null, previous: a.previous.slice(0, -1) });
}

/** Scores `ref` in shadow beside the champion; null stops shadowing. */
export function shadow(a: ModelAssignment, ref: PolicyRef | null): ModelAssignment {
  if (ref && sameRef(a.champion, ref))
    throw new AssignmentError(`${ref.model} is the champion; it cannot shadow itself`);
  return next(a, { challenger: ref });
}

const policyKey = (hash: string) => `ff:models:policy:${hash}`;
const policyFileHashOf = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * The assignment and the policies' texts in Redis. One assignment per deployment (its task-queue prefix); policies
 * are shared by hash.
 */
export class ModelAssignmentStore {
  private readonly policies = new Map<string, LoadedPolicy>();
  private readonly assignmentKey: string;

  constructor(
    private readonly redis: Redis,
    deployment: string,
  ) {
    this.assignmentKey = `ff:models:${deployment}:assignment`;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  async current(): Promise<ModelAssignment> {
    const text = await this.redis.get(this.assignmentKey);
    return text ? ModelAssignment.parse(JSON.parse(text)) : configuredAssignment;
  }

  /** Stores a policy file's text under its hash (the same hash loadPolicyFile gives it). */
  async storePolicy(text: string): Promise<string> {
    const hash = policyFileHashOf(text);
    parsePolicyText(text, `policy ${hash}`);
    await this.redis.set(policyKey(hash), text);
    return hash;
  }

  /** A stored policy, read once per process and checked against its hash. */
  async policy(hash: string): Promise<LoadedPolicy | undefined> {
    const known = this.policies.get(hash);
    if (known) return known;
    const text = await this.redis.get(policyKey(hash));
    if (text === null) return undefined;
    if (policyFileHashOf(text) !== hash) throw new AssignmentError(`stored policy ${hash} does not match its hash`);
    const loaded = { file: `redis:${policyKey(hash)}`, policy: parsePolicyText(text, `policy ${hash}`), hash };
    this.policies.set(hash, loaded);
    return loaded;
  }

  /**
   * Applies `change` to the current assignment atomically (WATCH/MULTI: retried when another writer won). Needs a
   * connection of its own, as WATCH is per connection.
   */
  async update(change: (a: ModelAssignment) => ModelAssignment): Promise<ModelAssignment> {
    for (let attempt = 0; attempt < 10; attempt++) {
      await this.redis.watch(this.assignmentKey);
      let updated: ModelAssignment;
      try {
        updated = change(await this.current());
      } catch (err) {
        await this.redis.unwatch();
        throw err;
      }
      const result = await this.redis
        .multi()
        .set(this.assignmentKey, JSON.stringify(storedForm(updated)))
        .exec();
      if (result !== null) return updated;
    }
    throw new AssignmentError('the model assignment kept changing under this update; try again');
  }
}

/**
 * The assignment as written: each reference also under its 0.3.0 name, `policyHash`, so ingests and CLIs of the
 * release before read what this one writes during a rolling deploy. Drop it in the release after.
 */
function storedForm(a: ModelAssignment) {
  const ref = (r: PolicyRef | null) => r && { ...r, policyHash: r.policyFileHash };
  return { ...a, champion: ref(a.champion), challenger: ref(a.challenger), previous: a.previous.map(ref) };
}

/** A store on the feature store's Redis, with a connection of its own, for the deployment's task queues. */
export function createAssignmentStore(
  config: Config,
  deployment: string = config.taskQueuePrefix,
): ModelAssignmentStore {
  return new ModelAssignmentStore(
    new Redis(config.featureStore.url, { lazyConnect: true, maxRetriesPerRequest: 2 }),
    deployment,
  );
}
