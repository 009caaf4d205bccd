/**
 * `npm run bench`: fraudflow's benchmark, a program that prints figures (not a test with time limits).
 *
 * Every scenario runs in this process against the real stack, isolated under its own topics and task queues:
 *   streaming-instant   N events as fast as possible through Kafka → ingest → workflows, instant model
 *   streaming-200ms     the same with a model that answers in 200 ms; orchestration overhead = latency − model
 *   half-load-overhead  paced at half of streaming-instant's throughput; p99 overhead target ≤ 100 ms
 *   half-load-shadow    the same pace with a challenger scored in shadow; target: ≤ 5% more p99 latency
 *   bare-temporal       the ceiling: as many workflows with 2 no-op activities, same worker settings
 *   direct              the non-durable baseline: consumer → openai SDK → decision topic, no Temporal
 *   real-model          Ollama through the pipeline next to sequential direct SDK calls
 *   replay              20,000 recorded transactions through the batch replay, instant model
 *   burst               50,000 events at once; 2 ingests + 2 workers, one of each killed halfway; running bound
 *   burst-postgres      the burst on the Temporal server with PostgreSQL (TEMPORAL_BACKEND=postgres, brought up
 *                       and stopped by the scenario), its CPU per decision beside the dev server's in burst
 *
 * Results go to <out>/results.json and <out>/results.md. See docs/performance.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../src/config';
import { setLogDestination } from '../src/observability/logger';
import { installRuntime, processNodeOptions } from '../src/worker-set';
import { processTreeCpuMs, stackPid } from './harness';
import { compiledCli } from './pipeline';
import type { BenchReport, ScenarioId, ScenarioResult } from './report';
import { checkTargets, markdownReport, markdownTable, ratiosOf, scenarioIds } from './report';
import type { BareFeature } from './scenarios/bare-temporal';
import { bareFeatures, runBareTemporal } from './scenarios/bare-temporal';
import { runBurst } from './scenarios/burst';
import { runBurstOnPostgres } from './scenarios/burst-postgres';
import { runDirect } from './scenarios/direct';
import { runRealModel } from './scenarios/real-model';
import { runReplay } from './scenarios/replay';
import { runStreaming } from './scenarios/streaming';

const usage = `usage: npm run bench -- [options]
  --count N              transactions per scenario (default 5000)
  --only a,b             scenarios to run (default all): ${scenarioIds.join(', ')}
  --out DIR              where results.json and results.md go (default bench/results)
  --real-count N         transactions through the real model (default 100, whatever --count says)
  --replay-count N       rows in the replay scenario (default 20000, whatever --count says)
  --burst-count N        events in the burst scenario (default 50000, whatever --count says)
  --real-rate R          pacing for real-model, events/s (default 80% of a sequential caller's rate)
  --direct-calls N       sequential direct calls to Ollama in real-model (default 20)
  --profile DIR          V8 CPU profiles of the worker and ingest processes (read with bench/profile-summary.ts)
  --half-load-rate R     pace half-load-overhead at R/s instead of half of streaming-instant's throughput
  --env KEY=VALUE        configuration for every scenario (repeatable), e.g. INGEST_MAX_IN_FLIGHT=128,
                         ORCHESTRATION_WORKFLOW_TASK_SLOTS=80, WORKFLOW_CACHE_SIZE=500 (see .env.example)
  --eager                experiment: bare-temporal requests eager workflow start
  --bare-like a,b        experiment: add scoreTransactionWorkflow's features back to bare-temporal:
                         ${bareFeatures.join(', ')}`;

/** Execution order: the three throughput scenarios back to back, so they see the same machine. */
const executionOrder: ScenarioId[] = [
  'streaming-instant',
  'bare-temporal',
  'direct',
  'streaming-200ms',
  'half-load-overhead',
  'half-load-shadow',
  'real-model',
  'replay',
  'burst',
  'burst-postgres',
];

function log(line: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new Error(`--${name} must be a positive number, got ${value}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '5000' },
      only: { type: 'string' },
      out: { type: 'string', default: path.join('bench', 'results') },
      'real-count': { type: 'string', default: '100' },
      'replay-count': { type: 'string', default: '20000' },
      'burst-count': { type: 'string', default: '50000' },
      'real-rate': { type: 'string' },
      'direct-calls': { type: 'string', default: '20' },
      'half-load-rate': { type: 'string' },
      profile: { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      eager: { type: 'boolean', default: false },
      'bare-like': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const count = Math.round(positive('count', values.count) ?? 5000);
  const realCount = Math.round(positive('real-count', values['real-count']) ?? 100);
  const replayCount = Math.round(positive('replay-count', values['replay-count']) ?? 20_000);
  const burstCount = Math.round(positive('burst-count', values['burst-count']) ?? 50_000);
  const directCalls = Math.round(positive('direct-calls', values['direct-calls']) ?? 20);
  const realRate = positive('real-rate', values['real-rate']);
  const halfLoadRate = positive('half-load-rate', values['half-load-rate']);
  const env: Record<string, string> = {};
  for (const pair of values.env) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`--env expects KEY=VALUE, got ${pair}`);
    env[pair.slice(0, i)] = pair.slice(i + 1);
  }
  const bareLike = values['bare-like']?.split(',').map((s) => s.trim()) ?? [];
  const unknownFeatures = bareLike.filter((f) => !(bareFeatures as readonly string[]).includes(f));
  if (unknownFeatures.length > 0) throw new Error(`unknown --bare-like feature(s) ${unknownFeatures.join(', ')}`);
  const requested = values.only?.split(',').map((s) => s.trim()) ?? [...scenarioIds];
  const unknown = requested.filter((s) => !(scenarioIds as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${scenarioIds.join(', ')}`);
  const selected = new Set(requested as ScenarioId[]);
  // half-load-shadow is judged against half-load-overhead at the same pace.
  if (selected.has('half-load-shadow')) selected.add('half-load-overhead');
  // half-load-overhead is paced from streaming-instant's measured maximum, so it needs that run first.
  if (selected.has('half-load-overhead') && halfLoadRate === undefined && !selected.has('streaming-instant')) {
    log('half-load-overhead needs the maximum throughput: running streaming-instant first');
    selected.add('streaming-instant');
  }

  const outDir = path.resolve(values.out);
  fs.mkdirSync(outDir, { recursive: true });
  if (
    [...selected].some(
      (s) => s.startsWith('streaming') || s.startsWith('half-load') || s === 'real-model' || s.startsWith('burst'),
    )
  ) {
    // fraudflow runs as the Docker image runs it: compiled, its workflow bundle built beforehand (WORKFLOW_BUNDLE_PATH).
    log('compiling (npm run build) and bundling the workflows');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
    env.WORKFLOW_BUNDLE_PATH ??= path.join(outDir, 'workflow-bundle.js');
    // ...and with the image's V8 settings, unless --env NODE_OPTIONS=... says otherwise.
    env.NODE_OPTIONS ??= processNodeOptions;
    execFileSync(process.execPath, [compiledCli, 'bundle-workflows', env.WORKFLOW_BUNDLE_PATH], { stdio: 'inherit' });
  }
  const base = loadConfig({ ...process.env, ...env });
  // The benchmark expects retried activity failures to be rare; keep the SDK's console to errors only.
  installRuntime(base, { quiet: true });
  // What runs in this process (replay, the direct baseline) logs to a file rather than between the figures; the
  // worker and ingest processes write <scenario>-worker.log and <scenario>-ingest.log next to it.
  const benchLog = path.join(outDir, 'bench.log');
  setLogDestination(pino.destination({ dest: benchLog, sync: false, append: false }));
  log(`logs go to ${outDir}`);
  const argv = process.argv.slice(2).join(' ');
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    command:
      process.env.npm_lifecycle_event === 'bench'
        ? `npm run bench${argv ? ` -- ${argv}` : ''}`
        : `tsx bench/main.ts${argv ? ` ${argv}` : ''}`,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
      memoryGb: Math.round(os.totalmem() / 1024 ** 3),
      node: process.version,
      loadAverageAtStart: os.loadavg(),
    },
    options: {
      count,
      realCount,
      replayCount,
      burstCount,
      directCalls,
      realRate,
      halfLoadRate,
      env,
      eager: values.eager,
      bareLike,
    },
    scenarios: [],
    ratios: {},
    targets: [],
  };
  const results = new Map<ScenarioId, ScenarioResult>();
  const write = () => {
    report.scenarios = scenarioIds.flatMap((id) => results.get(id) ?? []);
    report.ratios = ratiosOf(report.scenarios);
    report.targets = checkTargets(report.scenarios);
    report.finishedAt = new Date().toISOString();
    fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(path.join(outDir, 'results.md'), markdownReport(report));
  };

  const run = async (id: ScenarioId): Promise<ScenarioResult> => {
    switch (id) {
      case 'streaming-instant':
        return (
          await runStreaming({
            id,
            description: `${count} events produced as fast as possible, instant model`,
            count,
            rate: 0,
            model: { latencyMs: 0 },
            env,
            logDir: outDir,
            profileDir: values.profile ? path.resolve(values.profile) : undefined,
            log,
          })
        ).result;
      case 'streaming-200ms':
        return (
          await runStreaming({
            id,
            description: `${count} events produced as fast as possible, model answering in 200 ms`,
            count,
            rate: 0,
            model: { latencyMs: 200 },
            env,
            logDir: outDir,
            profileDir: values.profile ? path.resolve(values.profile) : undefined,
            log,
          })
        ).result;
      case 'half-load-overhead':
      case 'half-load-shadow': {
        const max = results.get('streaming-instant')?.throughputPerSec;
        const rate = halfLoadRate ?? (max !== undefined ? Math.round(max * 5) / 10 : undefined);
        const shadow = id === 'half-load-shadow';
        if (rate === undefined) {
          return {
            id,
            description: 'paced at half the maximum throughput',
            status: 'not measured',
            note: 'streaming-instant did not measure a throughput to halve',
          };
        }
        return (
          await runStreaming({
            id,
            description: `${count} events paced at ${rate}/s (half of streaming-instant's maximum), instant model${shadow ? ', a challenger in shadow' : ''}`,
            count,
            rate,
            shadow,
            model: { latencyMs: 0 },
            env,
            logDir: outDir,
            profileDir: values.profile ? path.resolve(values.profile) : undefined,
            log,
          })
        ).result;
      }
      case 'bare-temporal':
        return runBareTemporal({ count, env, eager: values.eager, like: bareLike as BareFeature[], log });
      case 'direct':
        return runDirect({ count, env, log });
      case 'real-model':
        return runRealModel({ count: realCount, directCalls, rate: realRate, env, logDir: outDir, log });
      case 'replay':
        return runReplay({ count: replayCount, env, log });
      case 'burst': {
        const devServer = stackPid(base, 'temporal');
        const serverCpuSeconds = devServer ? () => (processTreeCpuMs(devServer) ?? 0) / 1000 : undefined;
        return runBurst({ count: burstCount, env, logDir: outDir, log, serverCpuSeconds });
      }
      case 'burst-postgres':
        return runBurstOnPostgres({ count: burstCount, env, logDir: outDir, log });
    }
  };

  let failures = 0;
  for (const id of executionOrder.filter((s) => selected.has(s))) {
    log(`scenario ${id}`);
    let result: ScenarioResult;
    try {
      result = await run(id);
    } catch (err) {
      failures++;
      log(`scenario ${id} failed: ${(err as Error).stack ?? String(err)}`);
      result = { id, description: '', status: 'failed', note: (err as Error).message.split('\n')[0] };
    }
    results.set(id, result);
    write();
    const t = result.throughputPerSec;
    log(
      `scenario ${id}: ${result.status}${t === undefined ? '' : `, ${t}/s`}${result.note ? ` (${result.note})` : ''}`,
    );
    if (result.resources?.restarted) log(`  ${result.resources.restarted.join(' and ')} restarted during ${id}`);
  }
  write();

  console.log(`\n${markdownTable(report.scenarios)}\n`);
  for (const [k, v] of Object.entries(report.ratios))
    console.log(`${k}: ${v === null ? 'not measured' : v.toFixed(2)}`);
  console.log('');
  for (const t of report.targets) console.log(`${t.verdict.padEnd(12)} ${t.target}: ${t.measured}`);
  console.log(`\nwrote ${path.join(outDir, 'results.json')} and ${path.join(outDir, 'results.md')}`);
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
