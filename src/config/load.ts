/** Parses the environment once into a {@link Config}, and reports what does not parse in one readable message. */
import path from 'node:path';
import { z } from 'zod';
import { defaultPolicyPath, loadPolicyFile, PolicyFileError, policyThresholds } from '../scoring/policy-file';
import type { LoadedPolicy, ScoringPolicyFile } from '../scoring/policy-file';
import { Env } from './env';
import type { Config, ScoringPolicy } from './types';

/** Thrown when the environment does not parse; the message is zod's prettified report. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses an environment (default `process.env`). Throws {@link ConfigError} with a readable report on failure. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(`invalid fraudflow configuration:\n${z.prettifyError(parsed.error)}`);
  }
  const env = parsed.data;
  const scoringPolicy = loadScoringPolicy(env);
  const thresholds = resolveThresholds(env, scoringPolicy.policy);
  const featureStore = resolveFeatureStore(env);
  const cacheDir = env.FRAUDFLOW_CACHE_DIR;
  const dataDir = env.FRAUDFLOW_DATA_DIR ?? path.join(cacheDir, 'data');
  const temporalAddress = env.TEMPORAL_ADDRESS ?? defaultTemporalAddress[env.TEMPORAL_BACKEND];
  const temporalHost = temporalAddress.split(':')[0] ?? '127.0.0.1';
  return {
    env,
    cacheDir,
    dataDir,
    temporal: {
      address: temporalAddress,
      namespace: env.TEMPORAL_NAMESPACE,
      uiUrl: `http://${temporalHost}:${env.TEMPORAL_UI_PORT}`,
    },
    kafka: {
      brokers: env.KAFKA_BROKERS,
      clientId: env.KAFKA_CLIENT_ID,
      partitions: env.KAFKA_TOPIC_PARTITIONS,
      topics: {
        transactions: env.TOPIC_TRANSACTIONS,
        decisions: env.TOPIC_DECISIONS,
        deadLetter: env.TOPIC_DEAD_LETTER,
        labels: env.TOPIC_LABELS,
        labelsDeadLetter: env.TOPIC_LABELS_DEAD_LETTER,
      },
    },
    ingest: {
      groupId: env.INGEST_GROUP_ID,
      maxInFlight: env.INGEST_MAX_IN_FLIGHT,
      maxEventBytes: env.INGEST_MAX_EVENT_BYTES,
      maxRunningWorkflows: env.INGEST_MAX_RUNNING_WORKFLOWS,
      maxStartsPerSecond: env.INGEST_MAX_STARTS_PER_SECOND,
      stallTimeoutMs: env.INGEST_STALL_TIMEOUT_MS,
    },
    outcomes: {
      groupId: env.OUTCOMES_GROUP_ID,
      retentionMs: env.OUTCOMES_RETENTION_DAYS * 24 * 60 * 60_000,
      psiWarning: env.SCORE_DRIFT_PSI_WARNING,
    },
    featureStore,
    localModel: localModelSettings(env),
    retry: { initialBackoffMs: env.MODEL_RETRY_INITIAL_MS, maxBackoffMs: env.MODEL_RETRY_MAX_MS },
    breaker: { failureThreshold: env.BREAKER_FAILURE_THRESHOLD, cooldownMs: env.BREAKER_COOLDOWN_MS },
    decisionDeadlineMs: env.DECISION_DEADLINE_MS,
    budget: { dailyUsd: env.HOSTED_DAILY_BUDGET_USD, whenExhausted: env.HOSTED_BUDGET_EXHAUSTED },
    taskQueuePrefix: env.TASK_QUEUE_PREFIX,
    orchestration: {
      workflowTaskSlots: env.ORCHESTRATION_WORKFLOW_TASK_SLOTS,
      activitySlots: env.ORCHESTRATION_ACTIVITY_SLOTS,
      cachedWorkflows: env.WORKFLOW_CACHE_SIZE,
      bundlePath: env.WORKFLOW_BUNDLE_PATH,
    },
    cases: {
      enabled: env.CASES_ENABLED,
      slaMs: env.CASE_SLA,
      expiryAction: env.CASE_EXPIRY_ACTION,
      cachedWorkflows: env.CASE_WORKER_CACHED_WORKFLOWS,
      console: { host: env.CASE_CONSOLE_HOST, port: env.CASE_CONSOLE_PORT, token: env.CASE_CONSOLE_TOKEN },
    },
    replayDir: env.REPLAY_DIR ?? path.join(dataDir, 'replays'),
    codec: codecSettings(env, temporalHost, dataDir),
    hosted: {
      providers: env.HOSTED_PROVIDERS,
      apiKeys: resolveApiKeys(env, source),
      redactedFields: env.HOSTED_REDACTED_FIELDS,
      timeoutMs: env.HOSTED_MODEL_TIMEOUT_MS,
      maxAttempts: env.HOSTED_MODEL_MAX_ATTEMPTS,
      concurrency: env.HOSTED_SCORING_CONCURRENCY,
      taskQueueRps: env.HOSTED_TASK_QUEUE_RPS,
    },
    scoringPolicy,
    policy: { ...thresholds, escalationEnabled: env.HOSTED_ESCALATION_ENABLED, rules: ruleSettings(env) },
  };
}

/** The policy file SCORING_POLICY_FILE names (or the shipped one); a bad file is a configuration error. */
function loadScoringPolicy(env: Env): LoadedPolicy {
  try {
    return loadPolicyFile(env.SCORING_POLICY_FILE ?? defaultPolicyPath);
  } catch (err) {
    if (err instanceof PolicyFileError) throw new ConfigError(`invalid fraudflow configuration: ${err.message}`);
    throw err;
  }
}

function localModelSettings(env: Env): Config['localModel'] {
  return {
    baseURL: env.LOCAL_MODEL_BASE_URL,
    baseURLs: env.LOCAL_MODEL_BASE_URLS ?? [env.LOCAL_MODEL_BASE_URL],
    balancing: env.LOCAL_MODEL_BALANCING,
    scheduleToCloseMs: env.LOCAL_MODEL_SCHEDULE_TO_CLOSE_MS ?? env.LOCAL_MODEL_BUDGET_MS,
    model: env.LOCAL_MODEL_NAME,
    apiKey: env.LOCAL_MODEL_API_KEY,
    timeoutMs: env.LOCAL_MODEL_TIMEOUT_MS,
    maxAttempts: env.LOCAL_MODEL_MAX_ATTEMPTS,
    // One activity slot per parallel request the local model server accepts: more would only queue inside Ollama.
    concurrency: env.LOCAL_SCORING_CONCURRENCY ?? env.OLLAMA_NUM_PARALLEL,
  };
}

/** The PostgreSQL-backed server listens beside the dev server, so both can run on one host. */
const defaultTemporalAddress = { dev: '127.0.0.1:7233', postgres: '127.0.0.1:7243' } as const;

function codecSettings(env: Env, temporalHost: string, dataDir: string): Config['codec'] {
  return {
    enabled: env.PAYLOAD_ENCRYPTION,
    compression: env.PAYLOAD_COMPRESSION ?? env.PAYLOAD_ENCRYPTION,
    keysSpec: env.FRAUDFLOW_CODEC_KEYS,
    keysFile: env.CODEC_KEYS_FILE ?? path.join(dataDir, 'codec-keys.json'),
    serverPort: env.CODEC_SERVER_PORT,
    serverHost: env.CODEC_SERVER_HOST ?? temporalHost,
    serverUrl: `http://${temporalHost}:${env.CODEC_SERVER_PORT}`,
    serverToken: env.CODEC_SERVER_TOKEN,
    corsOrigins: env.CODEC_CORS_ORIGINS ?? [
      `http://${temporalHost}:${env.TEMPORAL_UI_PORT}`,
      `http://localhost:${env.TEMPORAL_UI_PORT}`,
    ],
  };
}

function ruleSettings(env: Env): ScoringPolicy['rules'] {
  return {
    reviewAmount: env.RULE_REVIEW_AMOUNT,
    declineAmount: env.RULE_DECLINE_AMOUNT,
    blockedCountries: env.RULE_BLOCKED_COUNTRIES,
    blockedMccs: env.RULE_BLOCKED_MCCS,
    reviewMccs: env.RULE_REVIEW_MCCS,
    escalateMccs: env.RULE_ESCALATE_MCCS,
    velocityReviewPerHour: env.RULE_VELOCITY_REVIEW_PER_HOUR,
    velocityEscalatePerHour: env.RULE_VELOCITY_ESCALATE_PER_HOUR,
    cardTestingMaxAmountUsd: env.RULE_CARD_TESTING_MAX_USD,
    cardTestingCount: env.RULE_CARD_TESTING_COUNT,
    impossibleTravelMinKm: env.RULE_IMPOSSIBLE_TRAVEL_MIN_KM,
    impossibleTravelKmh: env.RULE_IMPOSSIBLE_TRAVEL_KMH,
  };
}

const loopbackHosts = new Set(['localhost', '[::1]']);

function resolveFeatureStore(env: Env): Config['featureStore'] {
  const url = new URL(env.FEATURE_STORE_URL);
  const loopback = loopbackHosts.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  const managed = env.FEATURE_STORE_MANAGED ?? loopback;
  // The managed server is a plain local redis-server: no TLS, reachable on this machine only.
  if (managed && (!loopback || url.protocol !== 'redis:')) {
    throw new ConfigError(
      'invalid fraudflow configuration: FEATURE_STORE_MANAGED=true needs a redis:// FEATURE_STORE_URL on a loopback ' +
        'host (stack up starts redis-server on this machine); set FEATURE_STORE_MANAGED=false for another server',
    );
  }
  return { url: env.FEATURE_STORE_URL, managed };
}

/**
 * The thresholds in force: the policy file's, each overridable by its variable. An empty escalation band is
 * low 1, high 0 (no probability is inside it).
 */
function resolveThresholds(
  env: Env,
  policy: ScoringPolicyFile,
): Pick<
  ScoringPolicy,
  | 'approveBelow'
  | 'declineAt'
  | 'ambiguousLow'
  | 'ambiguousHigh'
  | 'minConfidence'
  | 'hostedReviewAt'
  | 'hostedDeclineAt'
  | 'hostedMode'
> {
  const fromPolicy = policyThresholds(policy);
  const resolved = {
    ...fromPolicy,
    approveBelow: env.SCORE_APPROVE_BELOW ?? fromPolicy.approveBelow,
    declineAt: env.SCORE_DECLINE_AT ?? fromPolicy.declineAt,
    ambiguousLow: env.AMBIGUOUS_LOW ?? fromPolicy.ambiguousLow,
    ambiguousHigh: env.AMBIGUOUS_HIGH ?? fromPolicy.ambiguousHigh,
    minConfidence: env.MIN_CONFIDENCE ?? fromPolicy.minConfidence,
  };
  if (env.AMBIGUOUS_LOW !== undefined && env.AMBIGUOUS_HIGH !== undefined && env.AMBIGUOUS_LOW > env.AMBIGUOUS_HIGH) {
    throw new ConfigError('invalid fraudflow configuration: AMBIGUOUS_LOW must not exceed AMBIGUOUS_HIGH');
  }
  if (resolved.approveBelow > resolved.declineAt) {
    throw new ConfigError('invalid fraudflow configuration: SCORE_APPROVE_BELOW must not exceed SCORE_DECLINE_AT');
  }
  return resolved;
}

function resolveApiKeys(env: Env, source: NodeJS.ProcessEnv): ReadonlyMap<string, string> {
  const keys = new Map<string, string>();
  for (const p of env.HOSTED_PROVIDERS) {
    const fromEnv: unknown = source[p.apiKeyEnv] ?? (env as Record<string, unknown>)[p.apiKeyEnv];
    if (typeof fromEnv === 'string' && fromEnv.length > 0) keys.set(p.name, fromEnv);
  }
  // A Map serializes as {} with JSON.stringify, so a logged config never shows a key.
  return keys;
}

/** For entry points: parse the environment or print the report and exit non-zero. */
export function loadConfigOrExit(source: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(source);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}
