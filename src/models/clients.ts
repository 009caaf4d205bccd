/**
 * OpenAI-compatible clients for the local model servers and each hosted provider. The SDK's own retries are off
 * (`maxRetries: 0`): Temporal owns every retry and timeout. Each endpoint carries a circuit breaker and an
 * in-flight count, held in this worker's memory (see circuit-breaker.ts for why that is safe).
 */
import OpenAI from 'openai';
import type { Config } from '../config';
import { CircuitBreaker } from './circuit-breaker';

export interface ModelTarget {
  /** Provider name as recorded on decisions: `local` or the hosted provider's configured name. */
  provider: string;
  tier: 'local' | 'hosted';
  /** Base URL of this endpoint. */
  endpoint: string;
  model: string;
  client: OpenAI;
  inputUsdPerMTok: number;
  outputUsdPerMTok: number;
  /** Send the 0.05 score grid as an enum (see HostedProvider.constrainedScores). */
  constrainedScores: boolean;
  /** Set when the provider cannot be used here (e.g. its API-key variable is unset). */
  misconfigured?: string;
  breaker: CircuitBreaker;
  inFlight: number;
  /** The model's digest, looked up once per endpoint (Ollama's /api/tags); undefined where not available. */
  digest?: Promise<string | undefined>;
}

/** Ollama reports each model's digest; other OpenAI-compatible servers may not, which is fine. */
export function modelDigest(target: ModelTarget): Promise<string | undefined> {
  target.digest ??= (async () => {
    try {
      const origin = new URL(target.endpoint).origin;
      const res = await fetch(`${origin}/api/tags`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) return undefined;
      const body = (await res.json()) as { models?: Array<{ name?: string; model?: string; digest?: string }> };
      const wanted = target.model.includes(':') ? target.model : `${target.model}:latest`;
      return body.models?.find((m) => m.name === wanted || m.model === wanted)?.digest;
    } catch {
      return undefined;
    }
  })();
  return target.digest;
}

/** Several local model servers (as teams run them behind NGINX), balanced by least-in-flight or round-robin. */
export class LocalModelPool {
  private next = 0;
  constructor(
    readonly targets: ModelTarget[],
    private readonly balancing: 'least-in-flight' | 'round-robin',
  ) {}

  /** An endpoint whose circuit lets a call through, or undefined when every circuit is open. */
  acquire(): ModelTarget | undefined {
    const start = this.next++ % this.targets.length;
    const rotated = [...this.targets.slice(start), ...this.targets.slice(0, start)];
    const ordered = this.balancing === 'least-in-flight' ? rotated.sort((a, b) => a.inFlight - b.inFlight) : rotated;
    return ordered.find((t) => t.breaker.tryAcquire());
  }
}

export interface ModelClients {
  local: LocalModelPool;
  hosted: Map<string, ModelTarget>;
}

export function createModelClients(config: Config): ModelClients {
  const breaker = () => new CircuitBreaker(config.breaker);
  const local = config.localModel.baseURLs.map((baseURL): ModelTarget => ({
    provider: 'local',
    tier: 'local',
    endpoint: baseURL,
    model: config.localModel.model,
    client: new OpenAI({
      baseURL,
      apiKey: config.localModel.apiKey,
      maxRetries: 0,
      timeout: config.localModel.timeoutMs,
    }),
    inputUsdPerMTok: 0,
    outputUsdPerMTok: 0,
    constrainedScores: true,
    breaker: breaker(),
    inFlight: 0,
  }));
  const hosted = new Map<string, ModelTarget>();
  for (const p of config.hosted.providers) {
    const apiKey = config.hosted.apiKeys.get(p.name);
    hosted.set(p.name, {
      provider: p.name,
      tier: 'hosted',
      endpoint: p.baseURL,
      model: p.model,
      client: new OpenAI({
        baseURL: p.baseURL,
        apiKey: apiKey ?? 'unset',
        maxRetries: 0,
        timeout: p.timeoutMs ?? config.hosted.timeoutMs,
      }),
      inputUsdPerMTok: p.inputUsdPerMTok,
      outputUsdPerMTok: p.outputUsdPerMTok,
      constrainedScores: p.constrainedScores,
      misconfigured: apiKey ? undefined : `environment variable ${p.apiKeyEnv} (API key for ${p.name}) is not set`,
      breaker: breaker(),
      inFlight: 0,
    });
  }
  return { local: new LocalModelPool(local, config.localModel.balancing), hosted };
}
