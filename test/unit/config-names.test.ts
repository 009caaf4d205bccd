/**
 * One name per meaning in the configuration: a call's whole time allowance is its schedule-to-close timeout (the
 * earlier `budget` names still read, so existing deployments keep their settings), and payload compression
 * follows encryption unless set.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { scoringSettingsFromConfig } from '../../src/scoring/settings';

const provider = (extra: Record<string, unknown>) =>
  JSON.stringify([{ name: 'p', baseURL: 'http://127.0.0.1:1/v1', apiKeyEnv: 'P_KEY', model: 'm', ...extra }]);

describe('schedule-to-close timeouts', () => {
  it('LOCAL_MODEL_SCHEDULE_TO_CLOSE_MS sets the first pass; LOCAL_MODEL_BUDGET_MS is still read', () => {
    const local = (env: Record<string, string>) => scoringSettingsFromConfig(loadConfig(env)).local.scheduleToCloseMs;
    expect(local({ LOCAL_MODEL_SCHEDULE_TO_CLOSE_MS: '4000' })).toBe(4000);
    expect(local({ LOCAL_MODEL_BUDGET_MS: '4500' })).toBe(4500);
    expect(local({ LOCAL_MODEL_SCHEDULE_TO_CLOSE_MS: '4000', LOCAL_MODEL_BUDGET_MS: '4500' })).toBe(4000);
    // Unset: every attempt may time out, plus the backoff between them, plus a second.
    expect(
      local({ LOCAL_MODEL_TIMEOUT_MS: '1000', LOCAL_MODEL_MAX_ATTEMPTS: '2', MODEL_RETRY_INITIAL_MS: '500' }),
    ).toBe(1000 * 2 + 500 + 1000);
  });

  it("a hosted provider's scheduleToCloseMs sets its chain step; budgetMs is read as it", () => {
    const hosted = (extra: Record<string, unknown>) =>
      scoringSettingsFromConfig(loadConfig({ HOSTED_PROVIDERS: provider(extra) })).hosted[0]?.scheduleToCloseMs;
    expect(hosted({ scheduleToCloseMs: 7000 })).toBe(7000);
    expect(hosted({ budgetMs: 8000 })).toBe(8000);
    expect(() => loadConfig({ HOSTED_PROVIDERS: provider({ scheduleToCloseMs: 5 }) })).toThrow(/scheduleToCloseMs/);
  });
});

describe('payload compression', () => {
  it('follows PAYLOAD_ENCRYPTION unless PAYLOAD_COMPRESSION says otherwise', () => {
    expect(loadConfig({}).codec.compression).toBe(true);
    expect(loadConfig({ PAYLOAD_ENCRYPTION: 'false' }).codec.compression).toBe(false);
    expect(loadConfig({ PAYLOAD_ENCRYPTION: 'false', PAYLOAD_COMPRESSION: 'true' }).codec.compression).toBe(true);
    expect(loadConfig({ PAYLOAD_COMPRESSION: 'false' }).codec.compression).toBe(false);
  });
});
