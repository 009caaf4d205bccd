import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The suite runs against one real stack (Kafka, Temporal, Ollama); the global setup brings it up.
    globalSetup: ['test/setup/stack.ts'],
    // Files share two CPU cores and one local model; running them one at a time keeps model latency honest.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
    reporters: ['default'],
    // Keep the run readable: per-decision info lines are asserted where they matter (observability.test.ts).
    env: { LOG_LEVEL: 'warn' },
  },
});
