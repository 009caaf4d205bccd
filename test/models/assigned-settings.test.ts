/** The assignment store's logic and the settings the ingest derives from it, over an in-memory Redis double. */
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { AssignedSettings, resolvePolicy } from '../../src/models/assigned-settings';
import { AssignmentError, ModelAssignmentStore, promote, rollback, shadow } from '../../src/models/assignment';
import { loadConfig } from '../../src/config';
import { scoringSettingsFromConfig } from '../../src/scoring/settings';

/** get / set / watch / unwatch / multi().set().exec() / quit, as the store uses them. */
function memoryRedis(): { redis: Redis; data: Map<string, string>; failReads: (on: boolean) => void } {
  const data = new Map<string, string>();
  let failing = false;
  const redis = {
    get: (k: string) => (failing ? Promise.reject(new Error('down')) : Promise.resolve(data.get(k) ?? null)),
    set: (k: string, v: string) => Promise.resolve(void data.set(k, v)),
    watch: () => Promise.resolve('OK'),
    unwatch: () => Promise.resolve('OK'),
    multi: () => {
      const writes: Array<[string, string]> = [];
      const tx = {
        set: (k: string, v: string) => (writes.push([k, v]), tx),
        exec: () => Promise.resolve(writes.map(([k, v]) => (data.set(k, v), [null, 'OK']))),
      };
      return tx;
    },
    quit: () => Promise.resolve('OK'),
  };
  return { redis: redis as unknown as Redis, data, failReads: (on) => (failing = on) };
}

const config = loadConfig({ ...process.env });
const configured = scoringSettingsFromConfig(config);
const policyText = (declineAt: number) =>
  `${JSON.stringify({ ...config.scoringPolicy.policy, name: `p-${declineAt}`, thresholds: { ...config.scoringPolicy.policy.thresholds, declineAt } }, null, 1)}\n`;

describe('model assignment store', () => {
  it('stores a policy under the hash loadPolicyFile would give it, and refuses one altered behind its hash', async () => {
    const { redis, data } = memoryRedis();
    const store = new ModelAssignmentStore(redis, 'dep');
    const hash = await store.storePolicy(policyText(0.6));
    expect((await store.policy(hash))?.policy.thresholds.declineAt).toBe(0.6);
    const other = new ModelAssignmentStore(redis, 'dep');
    data.set(`ff:models:policy:${hash}`, policyText(0.7));
    await expect(other.policy(hash)).rejects.toThrow(AssignmentError);
    expect(await other.policy('0000000000000000')).toBeUndefined();
  });

  it('keeps one assignment per deployment and applies changes in order', async () => {
    const { redis } = memoryRedis();
    const a = new ModelAssignmentStore(redis, 'dep-a');
    const b = new ModelAssignmentStore(redis, 'dep-b');
    const ref = { model: 'm:ft', policyFileHash: await a.storePolicy(policyText(0.6)) };
    await a.update((x) => promote(x, ref));
    expect((await a.current()).champion).toEqual(ref);
    expect((await b.current()).champion).toBeNull();
    await expect(b.update(rollback)).rejects.toThrow(/no previous champion/);
    expect((await a.update(rollback)).champion).toBeNull();
  });

  it('reads an assignment stored when the policy-file hash was named policyHash, and writes both names back', async () => {
    const { redis, data } = memoryRedis();
    const store = new ModelAssignmentStore(redis, 'dep');
    const champion = await store.storePolicy(policyText(0.61));
    const challenger = await store.storePolicy(policyText(0.62));
    const old = {
      champion: { model: 'm:ft', policyHash: champion },
      challenger: { model: 'm:ft2', policyHash: challenger },
      previous: [null, { model: 'm:ft0', policyHash: '00000000feedbeef' }],
      version: 7,
      changedAt: '2026-12-01T00:00:00.000Z',
    };
    data.set('ff:models:dep:assignment', JSON.stringify(old));

    const read = await store.current();
    expect(read.champion).toEqual({ model: 'm:ft', policyFileHash: champion });
    expect(read.challenger).toEqual({ model: 'm:ft2', policyFileHash: challenger });
    expect(read.previous).toEqual([null, { model: 'm:ft0', policyFileHash: '00000000feedbeef' }]);
    const settings = await new AssignedSettings(configured, store, (err) => {
      throw err;
    }).next();
    expect(settings.policyFileHash).toBe(champion);
    expect(settings.shadow).toMatchObject({ model: 'm:ft2', policyFileHash: challenger });

    await store.update(rollback);
    const stored = data.get('ff:models:dep:assignment') ?? '';
    // Under both names for one release: a 0.3.0 ingest or CLI reading it mid-deploy finds the name it knows.
    expect(JSON.parse(stored)).toMatchObject({
      champion: { model: 'm:ft0', policyFileHash: '00000000feedbeef', policyHash: '00000000feedbeef' },
      challenger: { model: 'm:ft2', policyFileHash: challenger, policyHash: challenger },
      previous: [null],
      version: 8,
    });
  });

  it('refuses a stored reference that names no policy file', async () => {
    const { redis, data } = memoryRedis();
    const store = new ModelAssignmentStore(redis, 'dep');
    data.set(
      'ff:models:dep:assignment',
      JSON.stringify({ champion: { model: 'm:ft' }, challenger: null, previous: [], version: 1, changedAt: '' }),
    );
    await expect(store.current()).rejects.toThrow(/policyFileHash/);
  });
});

describe('settings the ingest starts workflows with', () => {
  it('switches model, policy hash and thresholds on promotion, adds the challenger, and returns on rollback', async () => {
    const { redis } = memoryRedis();
    const store = new ModelAssignmentStore(redis, 'dep');
    const assigned = new AssignedSettings(configured, store, (err) => {
      throw err;
    });
    expect(await assigned.next()).toBe(configured);
    const champion = { model: 'm:ft', policyFileHash: await store.storePolicy(policyText(0.61)) };
    await store.update((a) => promote(a, champion));
    const promoted = await assigned.next();
    expect(promoted.local.model).toBe('m:ft');
    expect(promoted.policyFileHash).toBe(champion.policyFileHash);
    expect(promoted.policy.declineAt).toBe(0.61);
    expect(promoted.policyHash).not.toBe(configured.policyHash);
    const challenger = { model: 'm:ft2', policyFileHash: await store.storePolicy(policyText(0.62)) };
    await store.update((a) => shadow(a, challenger));
    expect((await assigned.next()).shadow).toMatchObject({ model: 'm:ft2', policyFileHash: challenger.policyFileHash });
    await store.update((a) => rollback(shadow(a, null)));
    expect(await assigned.next()).toEqual(configured);
  });

  it('keeps the last settings while the store cannot be read', async () => {
    const { redis, failReads } = memoryRedis();
    const store = new ModelAssignmentStore(redis, 'dep');
    const errors: unknown[] = [];
    const assigned = new AssignedSettings(configured, store, (err) => errors.push(err));
    const champion = { model: 'm:ft', policyFileHash: await store.storePolicy(policyText(0.61)) };
    await store.update((a) => promote(a, champion));
    const promoted = await assigned.next();
    failReads(true);
    expect(await assigned.next()).toBe(promoted);
    expect(errors).toHaveLength(1);
  });

  it('resolves the configured policy without the store, and a promoted one through it', async () => {
    const { redis } = memoryRedis();
    const store = new ModelAssignmentStore(redis, 'dep');
    expect(await resolvePolicy(undefined, config.scoringPolicy, undefined)).toBe(config.scoringPolicy);
    expect(await resolvePolicy(config.scoringPolicy.hash, config.scoringPolicy, undefined)).toBe(config.scoringPolicy);
    const hash = await store.storePolicy(policyText(0.63));
    expect((await resolvePolicy(hash, config.scoringPolicy, store))?.hash).toBe(hash);
    expect(await resolvePolicy(hash, config.scoringPolicy, undefined)).toBeUndefined();
  });
});
