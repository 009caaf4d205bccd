/**
 * The scoring settings new workflows start with: the configured ones, switched to the current champion's model and
 * policy once one is promoted. The ingest asks before every batch, so a promotion or rollback takes effect from
 * the next batch fetched after it; when the store cannot be read, the last known settings stay in force.
 */
import type { LoadedPolicy } from '../scoring/policy-file';
import type { ScoringSettings } from '../scoring/settings';
import { settingsWithModel } from '../scoring/settings';
import type { ModelAssignment, ModelAssignmentStore } from './assignment';
import { AssignmentError } from './assignment';

export class AssignedSettings {
  private current: ScoringSettings;
  private version = 0;

  constructor(
    private readonly configured: ScoringSettings,
    private readonly store: ModelAssignmentStore,
    private readonly onError: (err: unknown) => void,
    private readonly shadowTimeoutMs = 5000,
  ) {
    this.current = configured;
  }

  async next(): Promise<ScoringSettings> {
    try {
      const assignment = await this.store.current();
      if (assignment.version !== this.version) {
        this.current = await this.settingsFor(assignment);
        this.version = assignment.version;
      }
    } catch (err) {
      this.onError(err);
    }
    return this.current;
  }

  private async settingsFor(a: ModelAssignment): Promise<ScoringSettings> {
    let settings = this.configured;
    if (a.champion) {
      const policy: LoadedPolicy | undefined = await this.store.policy(a.champion.policyFileHash);
      if (!policy) throw new AssignmentError(`champion policy file ${a.champion.policyFileHash} is not in the store`);
      settings = settingsWithModel(settings, a.champion.model, policy);
    }
    if (!a.challenger) return settings;
    const { model, policyFileHash } = a.challenger;
    return { ...settings, shadow: { model, policyFileHash, timeoutMs: this.shadowTimeoutMs } };
  }
}

/** The policy a workflow asked for: the worker's configured one, or one promoted through the store. */
export async function resolvePolicy(
  hash: string | undefined,
  configured: LoadedPolicy,
  store: ModelAssignmentStore | undefined,
): Promise<LoadedPolicy | undefined> {
  if (hash === undefined || hash === configured.hash) return configured;
  return store?.policy(hash);
}
