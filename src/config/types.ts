/** What `loadConfig` makes of the environment: the settings every process reads, grouped by what they configure. */
import { z } from 'zod';
import type { LoadedPolicy } from '../scoring/policy-file';
import type { Env, HostedProvider } from './env';

/** Thresholds and rule settings; passed to workflows as input so replays run with the exact same policy. */
export const ScoringPolicy = z.object({
  approveBelow: z.number(),
  declineAt: z.number(),
  ambiguousLow: z.number(),
  ambiguousHigh: z.number(),
  minConfidence: z.number(),
  /** Score cut points applied to a hosted model's answer (escalated transactions). */
  hostedReviewAt: z.number(),
  hostedDeclineAt: z.number(),
  /** `decides`: a hosted answer replaces the first pass's outcome; `raises`: it may only make it stricter. */
  hostedMode: z.enum(['decides', 'raises']),
  escalationEnabled: z.boolean(),
  rules: z.object({
    reviewAmount: z.number(),
    declineAmount: z.number(),
    blockedCountries: z.array(z.string()),
    blockedMccs: z.array(z.string()),
    reviewMccs: z.array(z.string()),
    escalateMccs: z.array(z.string()),
    velocityReviewPerHour: z.number(),
    velocityEscalatePerHour: z.number(),
    cardTestingMaxAmountUsd: z.number(),
    cardTestingCount: z.number(),
    impossibleTravelMinKm: z.number(),
    impossibleTravelKmh: z.number(),
  }),
});
export type ScoringPolicy = z.infer<typeof ScoringPolicy>;

export interface Config {
  env: Env;
  cacheDir: string;
  dataDir: string;
  temporal: { address: string; namespace: string; uiUrl: string };
  kafka: {
    brokers: string[];
    clientId: string;
    partitions: number;
    /** `labels`: outcomes coming back (src/schemas/label.ts); `labelsDeadLetter`: labels that could not be read. */
    topics: { transactions: string; decisions: string; deadLetter: string; labels: string; labelsDeadLetter: string };
  };
  ingest: {
    groupId: string;
    maxInFlight: number;
    maxEventBytes: number;
    maxRunningWorkflows: number;
    maxStartsPerSecond: number;
    stallTimeoutMs: number;
  };
  /** The outcomes process: its consumer group, how long outcome records live, the score drift warning. */
  outcomes: { groupId: string; retentionMs: number; psiWarning: number };
  featureStore: {
    url: string;
    /** `stack up` runs redis-server for it (loopback hosts only); false: only health-checked. */
    managed: boolean;
  };
  localModel: {
    baseURL: string;
    /** Every local endpoint; the local worker balances across them. */
    baseURLs: string[];
    balancing: 'least-in-flight' | 'round-robin';
    model: string;
    apiKey: string;
    timeoutMs: number;
    maxAttempts: number;
    /** Schedule-to-close timeout of the first pass, ms. */
    scheduleToCloseMs?: number;
    concurrency: number;
  };
  retry: { initialBackoffMs: number; maxBackoffMs: number };
  breaker: { failureThreshold: number; cooldownMs: number };
  decisionDeadlineMs: number;
  budget: { dailyUsd: number; whenExhausted: 'local' | 'review' };
  taskQueuePrefix: string;
  orchestration: {
    workflowTaskSlots: number;
    activitySlots: number;
    /** maxCachedWorkflows; undefined leaves the SDK's default. */
    cachedWorkflows?: number;
    /** A pre-built workflow bundle; undefined bundles `workflows/` when the worker starts. */
    bundlePath?: string;
  };
  /** Cases: a review waits durably for an analyst (workflows/work-case.ts), served by the case console. */
  cases: {
    enabled: boolean;
    slaMs: number;
    expiryAction: 'approve' | 'decline';
    cachedWorkflows: number;
    console: { host: string; port: number; token?: string };
  };
  replayDir: string;
  codec: {
    /** Payloads are encrypted (PAYLOAD_ENCRYPTION). */
    enabled: boolean;
    /** Payloads are compressed before they are encrypted (PAYLOAD_COMPRESSION). */
    compression: boolean;
    keysSpec?: string;
    keysFile: string;
    serverPort: number;
    /** Address the codec server binds. */
    serverHost: string;
    serverUrl: string;
    serverToken?: string;
    corsOrigins: string[];
  };
  hosted: {
    providers: HostedProvider[];
    /** API keys by provider name, read from each provider's `apiKeyEnv`. Non-enumerable: never serialized or logged. */
    apiKeys: ReadonlyMap<string, string>;
    /** Paths of the event that never leave the network. */
    redactedFields: string[];
    timeoutMs: number;
    maxAttempts: number;
    concurrency: number;
    taskQueueRps: number;
  };
  /** The loaded policy file; its thresholds (with any SCORE_* / AMBIGUOUS_* overrides) are in `policy`. */
  scoringPolicy: LoadedPolicy;
  policy: ScoringPolicy;
}
