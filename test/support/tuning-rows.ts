import type { TuningRow } from '../../src/scoring/tuning';

/** A tuning row with no rule effect unless `extra` says otherwise. */
export const tuningRow = (isFraud: boolean, probability: number, extra: Partial<TuningRow> = {}): TuningRow => ({
  isFraud,
  probability,
  ruleFloor: 'approve',
  ruleEscalates: false,
  ...extra,
});
