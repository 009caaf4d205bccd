import { defineConfig } from 'vitest/config';

/**
 * `npm run test:unit`: the pure-logic tests, with no service at all (no global stack setup), in seconds. `npm test`
 * runs these too, with everything else. A file listed here must not reach Kafka, Temporal, Ollama or Redis; the
 * endpoints below point nowhere, so one that tries fails instead of quietly using a running stack.
 */
export default defineConfig({
  test: {
    include: [
      'test/scoring/policy.test.ts',
      'test/scoring/challenger.test.ts',
      'test/scoring/tuning.test.ts',
      'test/scoring/operating-point.test.ts',
      'test/scoring/legit-sampling.test.ts',
      'test/scoring/lbfgs.test.ts',
      'test/observability/step-progress.test.ts',
      'test/scoring/calibration.test.ts',
      'test/scoring/calibration-context.test.ts',
      'test/scoring/score-distribution.test.ts',
      'test/scoring/policy-fit-distribution.test.ts',
      'test/outcomes/outcome-record.test.ts',
      'test/outcomes/live-quality.test.ts',
      'test/scoring/paired-bootstrap.test.ts',
      'test/scoring/pii*.test.ts',
      'test/scoring/redaction*.test.ts',
      'test/features/card-history.test.ts',
      'test/features/replay-history.test.ts',
      'test/codec/payload-codec.test.ts',
      'test/models/circuit-breaker.test.ts',
      'test/models/model-lifecycle.test.ts',
      'test/models/assignment.test.ts',
      'test/models/assigned-settings.test.ts',
      'test/models/answer-head.test.ts',
      'test/stack/answer-loss-patch.test.ts',
      'test/stack/cpu-features.test.ts',
      'test/replay/report.test.ts',
      'test/replay/sources.test.ts',
      'test/generator/synthetic.test.ts',
      'test/generator/invalid-messages.test.ts',
      'test/compose.test.ts',
      'test/workflows/history-replay.test.ts',
      'test/unit/**/*.test.ts',
      'test/rules/*.test.ts',
    ],
    testTimeout: 120_000,
    reporters: ['default'],
    env: {
      LOG_LEVEL: 'warn',
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      KAFKA_BROKERS: '127.0.0.1:1',
      OLLAMA_HOST: '127.0.0.1:1',
      LOCAL_MODEL_BASE_URL: 'http://127.0.0.1:1/v1',
      FEATURE_STORE_URL: 'redis://127.0.0.1:1/0',
    },
  },
});
