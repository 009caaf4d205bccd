/**
 * ShadowScore names the challenger's policy-file hash `policyFileHash`; decisions and replay results written before
 * (`policyHash`) still parse, and activities accept either name from workflows scheduled across a rolling deploy.
 */
import { describe, expect, it } from 'vitest';
import { requestedPolicyFile } from '../../activities/model-scoring';
import { Decision, ShadowScore } from '../../src/schemas/decision';
import { minimalDecision } from '../support/decision-fixture';

const decision = minimalDecision();

describe('ShadowScore', () => {
  it('reads a shadow score stored under the old name as policyFileHash', () => {
    const old = {
      model: 'm:ft',
      policyHash: 'file0000hash',
      outcome: 'ok',
      riskScore: 0.2,
      decision: 'approve',
      agrees: true,
      latencyMs: 12,
    };
    const parsed = ShadowScore.parse(old);
    expect(parsed).toEqual({ ...old, policyHash: undefined, policyFileHash: 'file0000hash' });
    expect('policyHash' in parsed).toBe(false);
  });

  it('reads an old decision carrying one, and keeps the settings policyHash apart from it', () => {
    const stored = {
      ...decision,
      shadow: { model: 'm:ft', policyHash: 'file0000hash', outcome: 'error', latencyMs: 5000, error: 'timed out' },
    };
    const parsed = Decision.parse(JSON.parse(JSON.stringify(stored)));
    expect(parsed.policyHash).toBe('settings0000hash');
    expect(parsed.shadow).toMatchObject({ policyFileHash: 'file0000hash', outcome: 'error' });
  });

  it('reads the new shape, the policy step included, and prefers the new name when both are there', () => {
    const current = {
      model: 'm:ft',
      policyFileHash: 'new0000hash',
      outcome: 'ok',
      riskScore: 0.6,
      decision: 'review',
      path: 'local',
      wouldEscalate: true,
      agrees: false,
      latencyMs: 30,
    };
    expect(ShadowScore.parse(current)).toEqual(current);
    expect(ShadowScore.parse({ ...current, policyHash: 'old0000hash' }).policyFileHash).toBe('new0000hash');
  });

  it('rejects a shadow score with neither name', () => {
    const result = ShadowScore.safeParse({ model: 'm:ft', outcome: 'ok', latencyMs: 1 });
    expect(result.success).toBe(false);
  });
});

describe('activity inputs during a rolling deploy', () => {
  it('take the policy-file hash under either name, the new one first', () => {
    expect(requestedPolicyFile({ policyHash: 'old0000hash' })).toBe('old0000hash');
    expect(requestedPolicyFile({ policyFileHash: 'new0000hash' })).toBe('new0000hash');
    expect(requestedPolicyFile({ policyFileHash: 'new0000hash', policyHash: 'old0000hash' })).toBe('new0000hash');
    expect(requestedPolicyFile({})).toBeUndefined();
  });
});
