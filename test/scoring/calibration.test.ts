import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { computeCardFeatures } from '../../src/features/card-history';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { calibrate, calibrationInputs, calibrationVector } from '../../src/scoring/calibration';
import { logit } from '../../src/scoring/logistic';
import { defaultPolicyPath, loadPolicyFile, PolicyFileError } from '../../src/scoring/policy-file';
import { sampleTransaction, scriptedPolicyFile } from '../support/pipeline';

const event = TransactionEvent.parse(sampleTransaction({ amount: { minor: 120_000, currency: 'USD' } }));
const noHistory = computeCardFeatures([], event);
const width = calibrationInputs.length;

function model(weights: Record<number, number>, intercept = 0) {
  return {
    intercept,
    weights: Array.from({ length: width + 1 }, (_, i) => weights[i] ?? 0),
    mean: new Array<number>(width + 1).fill(0),
    scale: new Array<number>(width + 1).fill(1),
  };
}

describe('calibration', () => {
  it('turns features and the model log-odds into a probability and names what moved it', () => {
    const calibration = { withModel: true, model: model({ 0: 0.5, [width]: 1 }, -6) };
    const scored = calibrate(calibration, event, noHistory, 2);
    const logAmount = Math.log1p(1200);
    expect(scored.probability).toBeCloseTo(1 / (1 + Math.exp(-(-6 + 0.5 * logAmount + 2))), 5);
    expect(scored.drivers).toEqual([`log amount +${(0.5 * logAmount).toFixed(1)}`, 'local model +2.0']);
  });

  it('passes a generated score through unchanged under an identity calibration', () => {
    const calibration = { withModel: true, model: model({ [width]: 1 }) };
    for (const score of [0.05, 0.4, 0.75, 0.95]) {
      expect(calibrate(calibration, event, noHistory, logit(score)).probability).toBe(score);
    }
  });

  it('reads a first purchase abroad online as such', () => {
    const abroad = TransactionEvent.parse(
      sampleTransaction({
        channel: 'ecommerce',
        cardholderCountry: 'US',
        merchant: { id: 'm', name: 'Shop', mcc: '5732', country: 'NG' },
      }),
    );
    const x = calibrationVector(abroad, computeCardFeatures([], abroad));
    expect(x).toHaveLength(width);
    expect(x[calibrationInputs.indexOf('online')]).toBe(1);
    expect(x[calibrationInputs.indexOf('abroad')]).toBe(1);
    expect(x[calibrationInputs.indexOf('card history size')]).toBe(0);
  });
});

describe('scoring policy file', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-policy-'));

  it('loads the shipped policy: an embedding probe over 576 dimensions and a calibration with the model', () => {
    const loaded = loadPolicyFile(defaultPolicyPath);
    expect(loaded.policy.firstPass.kind).toBe('embedding-probe');
    if (loaded.policy.firstPass.kind === 'embedding-probe')
      expect(loaded.policy.firstPass.probe.weights).toHaveLength(576);
    expect(loaded.policy.calibration.model.weights).toHaveLength(width + 1);
    expect(loaded.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('names the file and the problem when a policy is missing, not JSON, or inconsistent', () => {
    expect(() => loadPolicyFile(path.join(tmp, 'missing.json'))).toThrow(
      /missing\.json cannot be read.*fraudflow tune/,
    );
    fs.writeFileSync(path.join(tmp, 'broken.json'), '{');
    expect(() => loadPolicyFile(path.join(tmp, 'broken.json'))).toThrow(PolicyFileError);
    const policy = JSON.parse(fs.readFileSync(scriptedPolicyFile, 'utf8')) as {
      calibration: { model: { weights: number[] } };
    };
    policy.calibration.model.weights.pop();
    fs.writeFileSync(path.join(tmp, 'short.json'), JSON.stringify(policy));
    expect(() => loadPolicyFile(path.join(tmp, 'short.json'))).toThrow(/calibration weights must match/);
    expect(() => loadConfig({ SCORING_POLICY_FILE: path.join(tmp, 'short.json') })).toThrow(ConfigError);
  });

  it('takes thresholds from the policy file, each overridable by its variable', () => {
    const { policy } = loadConfig({ SCORING_POLICY_FILE: scriptedPolicyFile });
    expect(policy).toMatchObject({ approveBelow: 0.4, declineAt: 0.8, ambiguousLow: 0.35, ambiguousHigh: 0.75 });
    const overridden = loadConfig({ SCORING_POLICY_FILE: scriptedPolicyFile, SCORE_DECLINE_AT: '0.9' }).policy;
    expect(overridden.declineAt).toBe(0.9);
    expect(() => loadConfig({ SCORING_POLICY_FILE: scriptedPolicyFile, SCORE_APPROVE_BELOW: '0.95' })).toThrow(
      /SCORE_APPROVE_BELOW must not exceed SCORE_DECLINE_AT/,
    );
  });

  it('gives a different policy a different policy hash', () => {
    const a = loadConfig({ SCORING_POLICY_FILE: scriptedPolicyFile }).scoringPolicy.hash;
    const b = loadConfig({}).scoringPolicy.hash;
    expect(a).not.toBe(b);
  });
});
