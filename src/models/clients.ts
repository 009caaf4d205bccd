/**
 * OpenAI-compatible clients for the local model server and each hosted provider. The SDK's own retries are off
 * (`maxRetries: 0`): Temporal owns every retry and timeout.
 */
import OpenAI from 'openai';
import type { Config } from '../config';

export interface ModelTarget {
  /** Provider name as recorded on decisions: `local` or the hosted provider's configured name. */
  provider: string;
  tier: 'local' | 'hosted';
  model: string;
  client: OpenAI;
  inputUsdPerMTok: number;
  outputUsdPerMTok: number;
  /** Send the 0.05 score grid as an enum (see HostedProvider.constrainedScores). */
  constrainedScores: boolean;
  /** Set when the provider cannot be used here (e.g. its API-key variable is unset). */
  misconfigured?: string;
}

export interface ModelClients {
  local: ModelTarget;
  hosted: Map<string, ModelTarget>;
}

export function createModelClients(config: Config): ModelClients {
  const local: ModelTarget = {
    provider: 'local',
    tier: 'local',
    model: config.localModel.model,
    client: new OpenAI({
      baseURL: config.localModel.baseURL,
      apiKey: config.localModel.apiKey,
      maxRetries: 0,
      timeout: config.localModel.timeoutMs,
    }),
    inputUsdPerMTok: 0,
    outputUsdPerMTok: 0,
    constrainedScores: true,
  };
  const hosted = new Map<string, ModelTarget>();
  for (const p of config.hosted.providers) {
    const apiKey = config.hosted.apiKeys.get(p.name);
    hosted.set(p.name, {
      provider: p.name,
      tier: 'hosted',
      model: p.model,
      client: new OpenAI({
        baseURL: p.baseURL,
        apiKey: apiKey ?? 'unset',
        maxRetries: 0,
        timeout: config.hosted.timeoutMs,
      }),
      inputUsdPerMTok: p.inputUsdPerMTok,
      outputUsdPerMTok: p.outputUsdPerMTok,
      constrainedScores: p.constrainedScores,
      misconfigured: apiKey ? undefined : `environment variable ${p.apiKeyEnv} (API key for ${p.name}) is not set`,
    });
  }
  return { local, hosted };
}
