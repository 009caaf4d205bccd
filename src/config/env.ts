/**
 * The raw environment schema: every variable fraudflow reads, with its default. `.env.example` documents each one;
 * `test/compose.test.ts` checks that docker-compose.yml only sets variables declared here.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { readRenamed } from '../schemas/renamed-field';
import { defaultRedactedFields } from '../scoring/redaction';

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  )
  .pipe(z.array(z.string()));

const hostPort = z.string().regex(/^[^:\s]+:\d{1,5}$/, 'expected host:port');

const redisUrl = z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' });

/** A duration: `90s`, `15m`, `24h`, `2d`, `500ms`, or plain milliseconds. */
const duration = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?(ms|s|m|h|d)?$/, 'expected a duration such as 90s, 15m, 24h, 2d or milliseconds')
  .transform((s) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s);
    const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m?.[2] ?? 'ms'] ?? 1;
    return Math.round(Number(m?.[1]) * unitMs);
  })
  .pipe(z.number().int().min(1000, 'a duration of at least 1s'));

const boolFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** One hosted frontier provider, reached through its OpenAI-compatible API. Tried in the order listed. */
const HostedProviderFields = z.object({
  /** Short name shown in decisions, history and metrics. */
  name: z.string().min(1),
  /** OpenAI-compatible base URL, e.g. `https://api.openai.com/v1` or `https://openrouter.ai/api/v1`. */
  baseURL: z.url(),
  /** Name of the environment variable that holds the API key; the key itself never sits in config. */
  apiKeyEnv: z.string().min(1),
  /** Model id at that provider. */
  model: z.string().min(1),
  /** USD per million prompt tokens. @default 0 */
  inputUsdPerMTok: z.number().nonnegative().default(0),
  /** USD per million completion tokens. @default 0 */
  outputUsdPerMTok: z.number().nonnegative().default(0),
  /**
   * Offer scores as an enum on a 0.05 grid instead of a bounded number: for servers whose structured-output
   * grammar ignores `minimum`/`maximum` (Ollama, llama.cpp). @default false
   */
  constrainedScores: z.boolean().default(false),
  /** Per-attempt timeout, ms. @default HOSTED_MODEL_TIMEOUT_MS */
  timeoutMs: z.number().int().min(100).optional(),
  /** Attempts on this provider before failing over. @default HOSTED_MODEL_MAX_ATTEMPTS */
  maxAttempts: z.number().int().min(1).optional(),
  /**
   * Schedule-to-close timeout: all attempts on this provider, backoff included, ms (`budgetMs`, its earlier name, is
   * still read). @default timeoutMs × maxAttempts + backoff
   */
  scheduleToCloseMs: z.number().int().min(100).optional(),
  /** First retry delay, ms (doubles per attempt). @default MODEL_RETRY_INITIAL_MS */
  initialBackoffMs: z.number().int().min(1).optional(),
  /** Longest retry delay, ms. @default MODEL_RETRY_MAX_MS */
  maxBackoffMs: z.number().int().min(1).optional(),
});
/** `budgetMs`, the earlier name of `scheduleToCloseMs`, is read as it. */
export const HostedProvider = z.preprocess(readRenamed('budgetMs', 'scheduleToCloseMs'), HostedProviderFields);
export type HostedProvider = z.infer<typeof HostedProvider>;

const defaultHostedProviders: HostedProvider[] = [
  {
    name: 'frontier-standin',
    baseURL: 'http://127.0.0.1:11434/v1',
    apiKeyEnv: 'FRONTIER_STANDIN_API_KEY',
    model: 'fraudflow-frontier-standin',
    inputUsdPerMTok: 2.5,
    outputUsdPerMTok: 10,
    constrainedScores: true,
  },
];

const hostedProviders = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'HOSTED_PROVIDERS must be a JSON array of providers' });
      return z.NEVER;
    }
  })
  .pipe(z.array(HostedProvider));

const cacheDefault = path.join(os.homedir(), '.cache', 'fraudflow');

/** The raw environment schema: names are the variable names, values carry their defaults. */
export const Env = z.object({
  FRAUDFLOW_CACHE_DIR: z.string().default(cacheDefault),
  FRAUDFLOW_DATA_DIR: z.string().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),

  /**
   * Which Temporal `stack up` runs: `dev` is the CLI's dev server (SQLite); `postgres` is the Temporal server built
   * from its Go module on a PostgreSQL of its own, as a production cluster runs it. @default 'dev'
   */
  TEMPORAL_BACKEND: z.enum(['dev', 'postgres']).default('dev'),
  /** @default 127.0.0.1:7233, or 127.0.0.1:7243 with TEMPORAL_BACKEND=postgres (beside a dev server) */
  TEMPORAL_ADDRESS: hostPort.optional(),
  /** The PostgreSQL that TEMPORAL_BACKEND=postgres starts for the Temporal server, loopback only. @default 5442 */
  TEMPORAL_POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(5442),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),

  KAFKA_BROKERS: csv.pipe(z.array(hostPort).min(1)).default(['127.0.0.1:9092']),
  KAFKA_CONTROLLER_PORT: z.coerce.number().int().min(1).max(65535).default(9093),
  KAFKA_CLIENT_ID: z.string().default('fraudflow'),
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).default(6),
  TOPIC_TRANSACTIONS: z.string().default('fraudflow.transactions'),
  TOPIC_DECISIONS: z.string().default('fraudflow.decisions'),
  TOPIC_DEAD_LETTER: z.string().default('fraudflow.transactions.dlq'),
  TOPIC_LABELS: z.string().default('fraudflow.labels'),
  TOPIC_LABELS_DEAD_LETTER: z.string().default('fraudflow.labels.dlq'),

  INGEST_GROUP_ID: z.string().default('fraudflow-ingest'),
  INGEST_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(64),
  INGEST_MAX_EVENT_BYTES: z.coerce
    .number()
    .int()
    .min(256)
    .default(64 * 1024),
  /**
   * Scoring workflows allowed to run at once on the orchestration task queue, counted across every ingest process
   * through Temporal's visibility store; past it the ingest stops fetching and the backlog waits in Kafka. Size it
   * as decisions per second × decision latency with room to spare: more only queues work in Temporal's store
   * (docs/operations.md). @default 200
   */
  INGEST_MAX_RUNNING_WORKFLOWS: z.coerce.number().int().min(1).default(200),
  /**
   * Scoring workflow starts per second, across every ingest process: a backlog is admitted at this pace, not all at
   * once. The default suits the dev server's SQLite store; a production cluster takes far more. @default 50
   */
  INGEST_MAX_STARTS_PER_SECOND: z.coerce.number().positive().default(50),
  /** A consumer that has fetched nothing for this long while its partitions have lag is restarted. @default 60000 */
  INGEST_STALL_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),

  /** Consumer group of the outcomes process (decisions and labels topics). @default 'fraudflow-outcomes' */
  OUTCOMES_GROUP_ID: z.string().default('fraudflow-outcomes'),
  /** Days an outcome record is kept after its last change; chargebacks come up to 120 days late. @default 120 */
  OUTCOMES_RETENTION_DAYS: z.coerce.number().positive().default(120),
  /** Score drift PSI past which fraudflow warns (0.2 is the conventional significant shift). @default 0.2 */
  SCORE_DRIFT_PSI_WARNING: z.coerce.number().positive().default(0.2),

  /** The online feature store (card history), any Redis-compatible server. */
  FEATURE_STORE_URL: redisUrl.default('redis://127.0.0.1:6379/0'),
  /** Whether `stack up` starts redis-server on FEATURE_STORE_URL's port. @default true when its host is loopback */
  FEATURE_STORE_MANAGED: boolFlag.optional(),
  /** A Redis 7 `redis-server` to run instead of the Debian build `stack up` extracts into the cache. */
  REDIS_SERVER_BIN: z.string().min(1).optional(),

  OLLAMA_HOST: hostPort.default('127.0.0.1:11434'),
  /** The `ollama` CLI `fraudflow model train` imports models with. @default the one `stack up` builds */
  OLLAMA_BIN: z.string().min(1).optional(),
  /**
   * Existing fraudflow-answer-finetune and llama-quantize binaries for `fraudflow model train`.
   * @default built into the cache
   */
  LLAMA_CPP_BIN_DIR: z.string().min(1).optional(),
  /**
   * Compiler flags naming the CPU `stack up` builds Ollama and llama.cpp for (e.g. `-march=x86-64-v3` for binaries
   * other machines run); only the allow-listed instruction sets they enable are used (src/stack/cpu-features.ts).
   * @default -march=native on x86-64, -mcpu=native on arm64
   */
  FRAUDFLOW_CPU_FLAGS: z.string().trim().min(1).optional(),
  OLLAMA_NUM_PARALLEL: z.coerce.number().int().min(1).default(2),
  LOCAL_MODEL_BASE_URL: z.url().default('http://127.0.0.1:11434/v1'),
  /** Several local endpoints (e.g. one Ollama per host), balanced by the local worker. @default LOCAL_MODEL_BASE_URL */
  LOCAL_MODEL_BASE_URLS: csv.pipe(z.array(z.url())).optional(),
  LOCAL_MODEL_BALANCING: z.enum(['least-in-flight', 'round-robin']).default('least-in-flight'),
  LOCAL_MODEL_NAME: z.string().default('fraudflow-smollm2:135m-q4_1'),
  LOCAL_MODEL_API_KEY: z.string().default('ollama'),
  LOCAL_MODEL_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  LOCAL_MODEL_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(3),
  /** Schedule-to-close timeout of the first pass, all attempts and backoff, ms. @default timeout × attempts + backoff */
  LOCAL_MODEL_SCHEDULE_TO_CLOSE_MS: z.coerce.number().int().min(100).optional(),
  /** The earlier name of LOCAL_MODEL_SCHEDULE_TO_CLOSE_MS, still read. */
  LOCAL_MODEL_BUDGET_MS: z.coerce.number().int().min(100).optional(),
  MODEL_RETRY_INITIAL_MS: z.coerce.number().int().min(1).default(500),
  MODEL_RETRY_MAX_MS: z.coerce.number().int().min(1).default(10_000),
  /** Consecutive transient failures that open a provider's circuit on a worker. */
  BREAKER_FAILURE_THRESHOLD: z.coerce.number().int().min(1).default(5),
  /** How long an open circuit fails fast before letting one probe through (half-open). */
  BREAKER_COOLDOWN_MS: z.coerce.number().int().min(100).default(30_000),
  /** The decision SLA: past it with no usable model answer, the decision is review. */
  DECISION_DEADLINE_MS: z.coerce.number().int().min(1000).default(120_000),
  LOCAL_SCORING_CONCURRENCY: z.coerce.number().int().min(1).optional(),
  /** First passes a shadow-scoring worker runs at once for a challenger model. @default 1 */
  SHADOW_SCORING_CONCURRENCY: z.coerce.number().int().min(1).default(1),
  /** How long a workflow waits for its challenger's shadow score after publishing the decision. @default 5000 */
  SHADOW_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),

  HOSTED_PROVIDERS: hostedProviders.default(defaultHostedProviders),
  /** API key of the default hosted stand-in (an OpenAI-compatible server we run); real providers name their own. */
  FRONTIER_STANDIN_API_KEY: z.string().default('fraudflow-standin-key'),
  /** Data residency: dotted TransactionEvent paths removed before any hosted call. */
  HOSTED_REDACTED_FIELDS: csv.default([...defaultRedactedFields]),
  HOSTED_MODEL_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
  HOSTED_MODEL_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(3),
  /** Activity slots per hosted-scoring worker; HOSTED_TASK_QUEUE_RPS is the fleet-wide throttle. */
  HOSTED_SCORING_CONCURRENCY: z.coerce.number().int().min(1).default(4),
  HOSTED_TASK_QUEUE_RPS: z.coerce.number().positive().default(50),
  HOSTED_ESCALATION_ENABLED: boolFlag.default(true),
  /** Hosted spend allowed per UTC day, counted durably in a Temporal ledger workflow; 0 disables escalation. */
  HOSTED_DAILY_BUDGET_USD: z.coerce.number().nonnegative().default(25),
  /** Once the budget is spent: decide on the local answer and rules (`local`), or send to review (`review`). */
  HOSTED_BUDGET_EXHAUSTED: z.enum(['local', 'review']).default('local'),
  /** Every `review` opens a case (`case-<transactionId>`) that waits for an analyst's verdict. @default true */
  CASES_ENABLED: boolFlag.default(true),
  /** How long a case waits for an analyst before CASE_EXPIRY_ACTION applies (`24h`, `90s`, ms). @default 24h */
  CASE_SLA: duration.default(24 * 3_600_000),
  /**
   * The final decision of a case nobody resolved within CASE_SLA. `decline` fails closed: a held payment nobody
   * cleared is not let through. @default decline
   */
  CASE_EXPIRY_ACTION: z.enum(['approve', 'decline']).default('decline'),
  /** Open cases kept in the case worker's workflow cache; the rest are replayed (a few events) when touched. @default 200 */
  CASE_WORKER_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(200),
  /** Address the case console binds; anything but loopback requires CASE_CONSOLE_TOKEN. @default 127.0.0.1 */
  CASE_CONSOLE_HOST: z.string().min(1).default('127.0.0.1'),
  /** Port of the case console (`fraudflow cases serve`); 0 picks a free port. @default 8235 */
  CASE_CONSOLE_PORT: z.coerce.number().int().min(0).max(65535).default(8235),
  /** Bearer token the case console requires; required when CASE_CONSOLE_HOST is not loopback. */
  CASE_CONSOLE_TOKEN: z.string().min(16, 'a token of at least 16 characters').optional(),
  /** Where replays keep their prepared chunks and decisions (shared storage when workers run on several hosts). */
  REPLAY_DIR: z.string().optional(),
  /** Fine-tuning runs and the model registry (`fraudflow model`). @default <data dir>/models */
  MODELS_DIR: z.string().optional(),
  /** Orchestration worker: workflow tasks processed at once (workflow code is CPU work on the event loop). */
  ORCHESTRATION_WORKFLOW_TASK_SLOTS: z.coerce.number().int().min(1).default(40),
  /** Orchestration worker: publishing, budget-ledger and replay activities run at once. */
  ORCHESTRATION_ACTIVITY_SLOTS: z.coerce.number().int().min(1).default(100),
  /** Workflows kept in the orchestration worker's cache (sticky execution). Unset: the SDK's, sized from the heap. */
  WORKFLOW_CACHE_SIZE: z.coerce.number().int().min(0).optional(),
  /** A workflow bundle written by `fraudflow bundle-workflows` (at build time); unset: bundled when a worker starts. */
  WORKFLOW_BUNDLE_PATH: z.string().optional(),
  /** Prefix of the three task queues, so several deployments can share one namespace. */
  TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('fraudflow'),

  /** The scoring policy written by `fraudflow tune` (first pass, calibration, thresholds). @default the shipped one */
  SCORING_POLICY_FILE: z.string().min(1).optional(),
  /** Overrides of the policy file's thresholds (probabilities): review at, decline at, escalation band. */
  SCORE_APPROVE_BELOW: z.coerce.number().min(0).max(1).optional(),
  SCORE_DECLINE_AT: z.coerce.number().min(0).max(1).optional(),
  AMBIGUOUS_LOW: z.coerce.number().min(0).max(1).optional(),
  AMBIGUOUS_HIGH: z.coerce.number().min(0).max(1).optional(),
  MIN_CONFIDENCE: z.coerce.number().min(0).max(1).optional(),

  /** Port of each worker's and the ingest's /metrics (fraudflow's own metrics); 0 picks a free port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** Port of the Temporal SDK's runtime metrics on worker processes; 0 disables them. */
  SDK_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  /** Address both metrics endpoints bind: `0.0.0.0` in a container, so a Prometheus container can scrape it. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Encrypt every Temporal payload (AES-256-GCM) so transaction data in history is ciphertext. */
  PAYLOAD_ENCRYPTION: boolFlag.default(true),
  /**
   * Compress Temporal payloads (zlib) before they are sealed: fewer history bytes per decision. Either way every
   * worker and the codec server read compressed payloads. @default PAYLOAD_ENCRYPTION (sealed payloads are read
   * through the codec server anyway; plain ones stay readable in the UI without it)
   */
  PAYLOAD_COMPRESSION: boolFlag.optional(),
  /** Codec keys `kid:<base64 32 bytes>,...`, first = active; unset: a dev key file in the data dir (created once). */
  FRAUDFLOW_CODEC_KEYS: z.string().optional(),
  CODEC_KEYS_FILE: z.string().optional(),
  CODEC_SERVER_PORT: z.coerce.number().int().min(1).max(65535).default(8234),
  /** Address the codec server binds (`0.0.0.0` in a container). @default the TEMPORAL_ADDRESS host */
  CODEC_SERVER_HOST: z.string().min(1).optional(),
  /** Bearer token the codec server requires (CLI use); unset on the dev stack, whose UI cannot send one. */
  CODEC_SERVER_TOKEN: z.string().optional(),
  /** Origins allowed to call the codec server. @default the Temporal UI's origin */
  CODEC_CORS_ORIGINS: csv.optional(),

  RULE_REVIEW_AMOUNT: z.coerce.number().positive().default(5_000),
  RULE_DECLINE_AMOUNT: z.coerce.number().positive().default(50_000),
  RULE_BLOCKED_COUNTRIES: csv.default(['KP', 'IR', 'SY', 'CU']),
  RULE_BLOCKED_MCCS: csv.default([]),
  RULE_REVIEW_MCCS: csv.default(['7995']),
  RULE_ESCALATE_MCCS: csv.default(['4829', '6051', '6540']),
  RULE_VELOCITY_REVIEW_PER_HOUR: z.coerce.number().int().min(1).default(10),
  RULE_VELOCITY_ESCALATE_PER_HOUR: z.coerce.number().int().min(1).default(5),
  /** Card testing: a purchase under this many USD after RULE_CARD_TESTING_COUNT such purchases within 10 minutes. */
  RULE_CARD_TESTING_MAX_USD: z.coerce.number().positive().default(5),
  RULE_CARD_TESTING_COUNT: z.coerce.number().int().min(1).default(2),
  /** Impossible travel (escalated): this far from the card's previous located transaction, faster than this speed. */
  RULE_IMPOSSIBLE_TRAVEL_MIN_KM: z.coerce.number().positive().default(500),
  RULE_IMPOSSIBLE_TRAVEL_KMH: z.coerce.number().positive().default(900),
});
export type Env = z.infer<typeof Env>;
