/**
 * REPLAY HOOK. Batch replay is being built separately; when `bench/replay-scenario.ts` exists and exports
 * `runReplayScenario`, the benchmark calls it here and checks its answer. Until then the scenario is recorded as
 * "not measured: replay not available". No figure is ever made up.
 *
 * The contract for bench/replay-scenario.ts:
 *
 *   export async function runReplayScenario(ctx: ReplayScenarioContext): Promise<ReplayScenarioResult>
 *
 * It should replay `ctx.count` transactions with the instant stand-in model (so the figure is comparable with
 * `streaming-instant`), isolate itself under `bench.<ctx.id>.*` topics and a `bench-<ctx.id>` task-queue prefix,
 * clean up after itself, and answer how many decisions it made and in how many seconds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import { shortId, startInstantModel, startResourceSampler } from '../harness';
import type { ScenarioResult } from '../report';

export interface ReplayScenarioContext {
  /** The configuration with the user's `--env` overrides and the instant model as LOCAL_MODEL_BASE_URL. */
  config: Config;
  /** The environment `config` was parsed from, to derive further configs with loadConfig. */
  env: NodeJS.ProcessEnv;
  /** Transactions to replay (the bench's --count). */
  count: number;
  /** Unique id for topic, group and task-queue names. */
  id: string;
  /** Base URL of the instant stand-in model this scenario started. */
  instantModelBaseURL: string;
  log: (line: string) => void;
}

/** What runReplayScenario must answer; parsed, since it comes from another module. */
export const ReplayScenarioResult = z.object({
  decisions: z.number().int().positive(),
  /** Wall seconds from the first decision to the last (or the whole replay, if that is what it can measure). */
  seconds: z.number().positive(),
  note: z.string().optional(),
});
export type ReplayScenarioResult = z.infer<typeof ReplayScenarioResult>;

const description = 'batch replay of recorded transactions (hook: bench/replay-scenario.ts)';

function hookFile(): string | undefined {
  const dir = path.join(__dirname, '..');
  return ['replay-scenario.ts', 'replay-scenario.js'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
}

export async function runReplay(opts: {
  count: number;
  env: Record<string, string>;
  log: (line: string) => void;
}): Promise<ScenarioResult> {
  const file = hookFile();
  if (!file) return { id: 'replay', description, status: 'not measured', note: 'not measured: replay not available' };
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown> & { default?: unknown };
  const fromDefault =
    typeof mod.default === 'object' && mod.default !== null
      ? (mod.default as Record<string, unknown>).runReplayScenario
      : undefined;
  const run = mod.runReplayScenario ?? fromDefault;
  if (typeof run !== 'function') {
    return {
      id: 'replay',
      description,
      status: 'not measured',
      note: 'not measured: replay not available (bench/replay-scenario.ts does not export runReplayScenario)',
    };
  }
  const instant = await startInstantModel(0);
  try {
    const env = {
      ...process.env,
      HOSTED_ESCALATION_ENABLED: 'false',
      HOSTED_PROVIDERS: '[]',
      LOCAL_MODEL_BASE_URL: instant.server.baseURL,
      LOCAL_SCORING_CONCURRENCY: '100',
      ...opts.env,
    };
    const config = loadConfig(env);
    const context: ReplayScenarioContext = {
      config,
      env,
      count: opts.count,
      id: `replay-${shortId()}`,
      instantModelBaseURL: instant.server.baseURL,
      log: opts.log,
    };
    const sampler = startResourceSampler(config);
    const answer = ReplayScenarioResult.safeParse(
      await (run as (ctx: ReplayScenarioContext) => Promise<unknown>)(context),
    );
    const resources = sampler.stop();
    if (!answer.success) {
      return {
        id: 'replay',
        description,
        status: 'failed',
        note: `runReplayScenario answered something that is not a ReplayScenarioResult: ${z.prettifyError(answer.error)}`,
        resources,
      };
    }
    const { decisions, seconds, note } = answer.data;
    return {
      id: 'replay',
      description,
      status: decisions >= opts.count ? 'measured' : 'incomplete',
      note,
      expected: opts.count,
      completed: decisions,
      throughputPerSec: Math.round((decisions / seconds) * 10) / 10,
      resources,
    };
  } finally {
    await instant.close();
  }
}
