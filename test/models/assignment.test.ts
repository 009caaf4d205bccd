import { describe, expect, it } from 'vitest';
import { AssignmentError, configuredAssignment, promote, rollback, shadow } from '../../src/models/assignment';

const a = { model: 'smollm2:ft-a', policyFileHash: 'aaaa' };
const b = { model: 'smollm2:ft-b', policyFileHash: 'bbbb' };

describe('model assignment', () => {
  it('promotes, keeping each champion before for rollback, and rolls back in order', () => {
    const first = promote(configuredAssignment, a);
    expect(first).toMatchObject({ champion: a, previous: [null], version: 1 });
    const second = promote(first, b);
    expect(second).toMatchObject({ champion: b, previous: [null, a], version: 2 });
    const back = rollback(second);
    expect(back).toMatchObject({ champion: a, previous: [null], version: 3 });
    expect(rollback(back)).toMatchObject({ champion: null, previous: [], version: 4 });
    expect(() => rollback(rollback(back))).toThrow(AssignmentError);
  });

  it('promoting the challenger ends its shadow; another promotion keeps it', () => {
    const shadowing = shadow(promote(configuredAssignment, a), b);
    expect(shadowing.challenger).toEqual(b);
    expect(promote(shadowing, b).challenger).toBeNull();
    expect(promote(shadowing, { ...a, policyFileHash: 'cccc' }).challenger).toEqual(b);
  });

  it('refuses to promote the champion again or to shadow it', () => {
    const current = promote(configuredAssignment, a);
    expect(() => promote(current, a)).toThrow(/is the champion/);
    expect(() => shadow(current, a)).toThrow(/cannot shadow itself/);
    expect(shadow(shadow(current, b), null).challenger).toBeNull();
  });
});
