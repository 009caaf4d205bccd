/**
 * The fraudflow command line: `fraudflow <command>`. Run through bin/fraudflow, which installs dependencies first.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Argument, Command, Option } from 'commander';
import { isoDateTime, numberOption } from './options';
import { LabelOutcome, LabelSource } from '../schemas/label';
import { codecKeyring } from '../codec';
import { runReplayCommand } from './replay';
import { chunkBounds } from '../replay/contracts';
import { compareCommand, compareShadowCommand, rebuildReport } from './report';
import { startCodecServer } from '../codec/server';
import { loadConfigOrExit } from '../config';
import { produceTransactions } from '../generator/produce';
import { runTuneCommand } from './tune';
import { policyRefFor, runModelList, runModelPromote, runModelRollback, runModelShadow, runModelTrain } from './model';
import { defaultHyperparameters } from '../models/fine-tune';
import { defaultEmbeddingBatchSize } from '../models/embedding-cache';
import { MissingTopicError } from '../errors';
import { ModelRegistryError } from '../models/registry';
import { PolicyFileError } from '../scoring/policy-file';
import { StackError, stackDown, stackLogs, stackStatus, stackUp } from '../stack';
import { servedRole, servedRoles, serveWorkers } from '../worker-set/serve';
import { writeWorkflowBundle } from '../worker-set';
import { serveIngest } from './ingest';
import { printLiveQuality, publishLabel, serveOutcomes } from './outcomes';
import { runMainJob } from './run';
import { printDecision } from './decision';
import { DecisionNotFound } from '../temporal/published-decision';
import {
  RulesCommandError,
  backtestCommand,
  compileRulesFile,
  importEntries,
  listAuditCommand,
  listsCommand,
  promoteCommand,
  rollbackCommand,
  showListsCommand,
  showLiveCommand,
} from './rules';
import { RuleSetError } from '../rules/rule-set';
import { ListChangeError } from '../rules/list-store';
import { registerCasesCommand } from './cases';
import { CaseNotFoundError, CaseVerdictRefusedError, CaseWorkerUnavailableError } from '../errors';

const program = new Command('fraudflow').description('Durable LLM fraud scoring on Kafka, Temporal and a local model');

const count = numberOption({ min: 0, integer: true });
const positiveInt = numberOption({ min: 1, integer: true });
const nonNegative = numberOption({ min: 0 });
const share = numberOption({ min: 0, max: 1 });
/** A share of legitimate rows to keep: above 0, at most 1. */
const legitShare = numberOption({ min: 0.0001, max: 1 });

const stack = program.command('stack').description('the local Kafka + Temporal + Ollama + Redis stack (no Docker)');
stack
  .command('up')
  .description('provision (cached), start and health-check every service; idempotent')
  .option('--timeout <seconds>', 'seconds each service may take to become healthy', positiveInt, 120)
  .addOption(
    new Option('--temporal <backend>', 'dev server, or the Temporal server on PostgreSQL (TEMPORAL_BACKEND)').choices([
      'dev',
      'postgres',
    ]),
  )
  .action(async (opts: { timeout: number; temporal?: string }) => {
    if (opts.temporal) process.env.TEMPORAL_BACKEND = opts.temporal;
    await stackUp(loadConfigOrExit(), { timeoutSeconds: opts.timeout });
  });
stack
  .command('down')
  .description('stop the processes `stack up` started, and nothing else')
  .action(async () => stackDown(loadConfigOrExit()));
stack
  .command('status')
  .description('show each service: pid, running, healthy; exits 1 unless all are healthy')
  .action(async () => {
    const rows = await stackStatus(loadConfigOrExit());
    for (const r of rows) {
      console.log(`${r.name.padEnd(9)} pid=${r.pid ?? '-'} running=${r.running} healthy=${r.healthy}`);
    }
    if (!rows.every((r) => r.healthy)) process.exitCode = 1;
  });
stack
  .command('logs')
  .description('print service logs')
  .argument('[service]', 'temporal | kafka | ollama | redis | codec')
  .option('-f, --follow', 'keep streaming')
  .option('-n, --lines <n>', 'lines per log', count, 50)
  .action(async (service: string | undefined, opts: { follow?: boolean; lines: number }) =>
    stackLogs(loadConfigOrExit(), { service, follow: opts.follow, lines: opts.lines }),
  );

program
  .command('run')
  .description('the main job: stack up, workers and ingest, stream synthetic transactions, live progress, summary')
  .option('-n, --count <n>', 'transactions to stream', positiveInt, 40)
  .option(
    '-r, --rate <perSecond>',
    'events per second (one 2-core machine scores about 0.5/s with the bundled model)',
    numberOption({ min: 0.001 }),
    0.5,
  )
  .option('--fraud-share <share>', 'share of fraud patterns among valid events', share, 0.1)
  .option(
    '--invalid-share <share>',
    'share of deliberately invalid events, rounded to an exact count spread evenly (they go to the dead-letter topic)',
    share,
    0.03,
  )
  .option('--timeout <seconds>', 'stop waiting for decisions after this long', positiveInt, 600)
  .action(async (opts: { count: number; rate: number; fraudShare: number; invalidShare: number; timeout: number }) => {
    await runMainJob(loadConfigOrExit(), {
      count: opts.count,
      rate: opts.rate,
      fraudShare: opts.fraudShare,
      invalidShare: opts.invalidShare,
      timeoutSeconds: opts.timeout,
    });
  });

program
  .command('worker')
  .description('run worker roles: one of them, or all (dev mode, one process)')
  .argument('<role>', servedRoles.join(' | '))
  .action(async (role: string) => serveWorkers(loadConfigOrExit(), servedRole(role)));

program
  .command('bundle-workflows')
  .description('write the workflow bundle to a file, for WORKFLOW_BUNDLE_PATH (run at build time, not per worker)')
  .argument('<file>', 'where the bundle goes, e.g. dist/workflow-bundle.js')
  .action(async (file: string) => {
    const bytes = await writeWorkflowBundle(file);
    console.log(
      `fraudflow: wrote ${file} (${Math.round(bytes / 1024)} KB); run workers with WORKFLOW_BUNDLE_PATH=${file}`,
    );
  });

program
  .command('ingest')
  .description('consume the transactions topic and start one scoring workflow per valid event')
  .action(async () => serveIngest(loadConfigOrExit()));

program
  .command('outcomes')
  .description('join decisions with the labels that come back (outcome store) and serve the live-quality metrics')
  .action(async () => serveOutcomes(loadConfigOrExit()));

program
  .command('decision')
  .description("one transaction's decision as published (features, model calls, reasons), read from its workflow")
  .argument('<transactionId>')
  .action(async (transactionId: string) => printDecision(loadConfigOrExit(), transactionId));

program
  .command('quality')
  .description('live quality per policy: precision, recall, FPR over 1, 7, 30 days of labelled outcomes; drift')
  .option('--json', 'print the figures as JSON')
  .action(async (opts: { json?: boolean }) => printLiveQuality(loadConfigOrExit(), opts));

program
  .command('label')
  .description('publish one label (what really happened to a transaction) to the labels topic')
  .argument('<transactionId>')
  .addArgument(new Argument('<outcome>').choices(LabelOutcome.options))
  .addOption(new Option('--source <source>').choices(LabelSource.options).default('analyst'))
  .option('--reason-code <code>', "the network's or the team's reason code, e.g. 10.4")
  .option('--reported-by <who>', 'who reported it, e.g. the analyst id')
  .option('--reported-at <iso>', 'when it was reported, ISO 8601 with offset (default: now)', isoDateTime)
  .action(
    async (
      transactionId: string,
      outcome: string,
      opts: { source: string; reasonCode?: string; reportedBy?: string; reportedAt?: string },
    ) => {
      const label = await publishLabel(loadConfigOrExit(), { transactionId, outcome, ...opts });
      console.log(`fraudflow: label published: ${JSON.stringify(label)}`);
    },
  );

program
  .command('produce')
  .description('write realistic synthetic transactions (labelled) to the transactions topic')
  .option('-n, --count <n>', 'messages to send', count, 1000)
  .option('-r, --rate <perSecond>', 'messages per second (0: as fast as possible)', nonNegative, 50)
  .option('--fraud-share <share>', 'share of fraud patterns among valid events', share, 0.05)
  .option(
    '--invalid-share <share>',
    'share of deliberately invalid messages, rounded to an exact count (round(count × share)) spread evenly',
    share,
    0,
  )
  .option('--seed <n>', 'generator seed (default: random)', numberOption({ integer: true }))
  .option('--topic <topic>', 'target topic (default: TOPIC_TRANSACTIONS)')
  .action(
    async (opts: {
      count: number;
      rate: number;
      fraudShare: number;
      invalidShare: number;
      seed?: number;
      topic?: string;
    }) => {
      const config = loadConfigOrExit();
      const result = await produceTransactions(config, {
        count: opts.count,
        rate: opts.rate,
        fraudShare: opts.fraudShare,
        invalidShare: opts.invalidShare,
        seed: opts.seed,
        topic: opts.topic,
      });
      console.log(`produced ${result.sent} messages (${result.invalid} invalid) in ${result.seconds.toFixed(1)}s`);
    },
  );

program
  .command('replay')
  .description('replay historical transactions through the scoring workflow and write a backtest report')
  .argument('<source>', 'a JSONL or CSV file, or kafka:<topic>')
  .option('--id <replayId>', 'replay id (default: derived from the source and the scoring policy)')
  .option('--mapping <name>', 'built-in CSV column mapping', 'credit-card-transactions')
  .option('--mapping-file <file>', 'CSV column mapping as JSON (see src/replay/sources/column-mapping.ts)')
  .option('--from <offsetOrTime>', 'kafka: first offset (every partition) or ISO time')
  .option('--to <offsetOrTime>', 'kafka: end offset (exclusive) or ISO time')
  .option('--score-from <time>', 'score rows from this ISO time on; earlier rows only build card history')
  .option('--score-until <time>', 'score rows before this ISO time; later rows are left out')
  .option('--policy <file>', 'scoring policy file (default: SCORING_POLICY_FILE or the shipped policy)')
  .option('--prepare-only', 'prepare rows with their card features and labels, score none (for fraudflow tune)')
  .option(
    '--chunk-size <n>',
    `rows per chunk workflow, at most ${chunkBounds.maxRows} (a chunk is also cut at ${chunkBounds.maxRowBytes / 1024} KiB of rows)`,
    numberOption({ min: 1, max: chunkBounds.maxRows, integer: true }),
    100,
  )
  .option('--chunk-parallelism <n>', 'chunk workflows at once', positiveInt, 4)
  .option(
    '--row-parallelism <n>',
    'transactions scored at once per chunk (default: 2 x the local model capacity, spread)',
    positiveInt,
  )
  .option('--no-local-activities', 'run the first pass as a regular activity on the local-scoring queue')
  .option('--no-workers', 'do not run workers in this process (a worker fleet serves the task queues)')
  .option('--shadow <tag>', 'also score a challenger model in shadow beside every decision (report --compare <id>)')
  .option('--shadow-policy <file>', "the challenger's scoring policy (default: the model registry's)")
  .action(
    async (
      source: string,
      opts: {
        id?: string;
        mapping: string;
        mappingFile?: string;
        from?: string;
        to?: string;
        scoreFrom?: string;
        scoreUntil?: string;
        policy?: string;
        prepareOnly?: boolean;
        chunkSize: number;
        chunkParallelism: number;
        rowParallelism?: number;
        localActivities: boolean;
        workers: boolean;
        shadow?: string;
        shadowPolicy?: string;
      },
    ) => {
      const env = opts.policy ? { ...process.env, SCORING_POLICY_FILE: opts.policy } : process.env;
      const config = loadConfigOrExit(env);
      const challenger = opts.shadow ? policyRefFor(config, opts.shadow, opts.shadowPolicy) : undefined;
      await runReplayCommand(config, {
        shadow: challenger && { model: challenger.model, policyFile: challenger.file },
        source,
        scoreFrom: opts.scoreFrom,
        scoreUntil: opts.scoreUntil,
        prepareOnly: opts.prepareOnly,
        replayId: opts.id,
        mapping: opts.mapping,
        mappingFile: opts.mappingFile,
        from: opts.from,
        to: opts.to,
        chunkSize: opts.chunkSize,
        chunkParallelism: opts.chunkParallelism,
        rowParallelism: opts.rowParallelism,
        localActivities: opts.localActivities,
        workers: opts.workers,
      });
    },
  );

program
  .command('tune')
  .argument('<replayId>', 'a labelled replay: its rows are the tuning slice')
  .description('fit the first pass, calibration, thresholds and escalation band on a labelled replay; write a policy')
  .option('--max-escalation <share>', 'share of transactions sent to the hosted tier', share, 0.2)
  .option('--max-false-positive-rate <rate>', 'legitimate transactions declined', share, 0.01)
  .option('--max-review-false-positive-rate <rate>', 'legitimate transactions sent to review or declined', share, 0.05)
  .option('--min-decline-precision <share>', 'declined transactions that are fraud', share, 0.5)
  .option('--min-frauds-per-threshold <n>', 'tuning frauds that must back each threshold and band', count, 5)
  .option(
    '--legit-sample <share>',
    'share of legitimate rows kept, time-stratified and weighted back (every fraud is kept)',
    legitShare,
    1,
  )
  .option('--sample-seed <n>', 'seed of the legitimate sample', count, 1)
  .option('--embed-batch <n>', 'texts per /v1/embeddings request', positiveInt, defaultEmbeddingBatchSize)
  .option('--hosted-sample <n>', 'escalation candidates sent to the hosted tier to measure it', count, 60)
  .option('--probe-l2 <penalty>', 'L2 penalty of the embedding probe', nonNegative, 30)
  .option(
    '--folds <n>',
    'folds (contiguous in time) for out-of-fold predictions',
    numberOption({ min: 2, integer: true }),
    5,
  )
  .option(
    '--answer-cue <text>',
    'embed each text followed by this question, for a model fine-tuned to answer it (fraudflow model train: "fraud:")',
  )
  .option('-o, --out <file>', 'policy file to write', 'fraudflow-policy.json')
  .action(
    async (
      replayId: string,
      opts: {
        answerCue?: string;
        maxEscalation: number;
        maxFalsePositiveRate: number;
        maxReviewFalsePositiveRate: number;
        minDeclinePrecision: number;
        minFraudsPerThreshold: number;
        legitSample: number;
        sampleSeed: number;
        embedBatch: number;
        hostedSample: number;
        probeL2: number;
        folds: number;
        out: string;
      },
    ) => {
      const config = loadConfigOrExit();
      await stackUp(config, { log: () => undefined });
      await runTuneCommand(config, {
        replayId,
        out: opts.out,
        limits: {
          maxEscalation: opts.maxEscalation,
          maxFalsePositiveRate: opts.maxFalsePositiveRate,
          maxReviewFalsePositiveRate: opts.maxReviewFalsePositiveRate,
          minDeclinePrecision: opts.minDeclinePrecision,
          minFraudsPerThreshold: opts.minFraudsPerThreshold,
        },
        legitSample: opts.legitSample,
        sampleSeed: opts.sampleSeed,
        embedding: { batchSize: opts.embedBatch },
        hostedSample: opts.hostedSample,
        probeL2: opts.probeL2,
        folds: opts.folds,
        answerCue: opts.answerCue,
      });
    },
  );

const model = program.command('model').description('fine-tune the local model on labelled history; its lineage');

model
  .command('train')
  .argument('<replayId...>', 'labelled replays: split by time into training, calibration and held-out slices')
  .description('fine-tune the local model, import it into Ollama, and compare it with the base on held-out rows')
  .option('--tag <name:tag>', 'Ollama tag of the new model (default <base name>:ft-<run id>)')
  .option('--max-rows <n>', 'training rows at most', positiveInt, defaultHyperparameters.maxRows)
  .option(
    '--head-rows <n>',
    'training-slice rows the answer head is fitted on, at most',
    numberOption({ min: 20, integer: true }),
    defaultHyperparameters.headRows,
  )
  .option(
    '--epochs <n>',
    'passes of full fine-tuning over the training rows after the answer head (0: the head alone)',
    numberOption({ min: 0, integer: true }),
    defaultHyperparameters.epochs,
  )
  .option('--learning-rate <alpha>', 'AdamW learning rate', nonNegative, defaultHyperparameters.learningRate)
  .option(
    '--context-size <tokens>',
    'tokens per training window',
    numberOption({ min: 256, integer: true }),
    defaultHyperparameters.contextSize,
  )
  .option('--quantization <type>', 'llama-quantize type of the served model', defaultHyperparameters.quantization)
  .option('--train-share <share>', 'oldest share of rows the training set is drawn from', share, 0.5)
  .option('--calibrate-share <share>', 'next share, where each model gets its scoring policy', share, 0.25)
  .option('--base-gguf <file>', "the base model's GGUF (default: the one stack up fetched)")
  .option('--max-escalation <share>', 'share of transactions sent to the hosted tier', share, 0.2)
  .option('--max-false-positive-rate <rate>', 'legitimate transactions declined', share, 0.01)
  .option('--max-review-false-positive-rate <rate>', 'legitimate transactions sent to review or declined', share, 0.05)
  .option('--min-decline-precision <share>', 'declined transactions that are fraud', share, 0.5)
  .option(
    '--legit-sample <share>',
    "share of the calibration slice's legitimate rows each policy is fitted on (every fraud kept, weighted back)",
    legitShare,
    1,
  )
  .action(async (replayIds: string[], opts: TrainCommandOptions) => {
    const config = loadConfigOrExit();
    await stackUp(config, { log: () => undefined });
    await runModelTrain(config, {
      replayIds,
      tag: opts.tag,
      baseGguf: opts.baseGguf,
      legitSample: opts.legitSample,
      hyperparameters: {
        maxRows: opts.maxRows,
        headRows: opts.headRows,
        epochs: opts.epochs,
        learningRate: opts.learningRate,
        contextSize: opts.contextSize,
        quantization: opts.quantization,
      },
      shares: { train: opts.trainShare, calibrate: opts.calibrateShare },
      limits: {
        maxEscalation: opts.maxEscalation,
        maxFalsePositiveRate: opts.maxFalsePositiveRate,
        maxReviewFalsePositiveRate: opts.maxReviewFalsePositiveRate,
        minDeclinePrecision: opts.minDeclinePrecision,
      },
    });
  });

model
  .command('list')
  .description('the champion, and fine-tuned models in the registry with their lineage and held-out figures')
  .action(() => runModelList(loadConfigOrExit()));

model
  .command('promote')
  .argument('<tag>', 'an Ollama model tag: a registered fine-tuned model, or any model with --policy')
  .description('make the model and its scoring policy decide new transactions, without restarting anything')
  .option('--policy <file>', "the scoring policy fitted for the model (default: the registry's)")
  .option('--force', 'promote even a model that measured a clear loss against its base on held-out data')
  .action(async (tag: string, opts: { policy?: string; force?: boolean }) => {
    await runModelPromote(loadConfigOrExit(), tag, { policyFile: opts.policy, force: opts.force });
  });

model
  .command('shadow')
  .argument('[tag]', 'the challenger: a registered fine-tuned model, or any model with --policy')
  .description('score a challenger in shadow on live traffic beside the champion (never changes a decision)')
  .option('--policy <file>', "the scoring policy fitted for the model (default: the registry's)")
  .option('--stop', 'stop shadow scoring')
  .action(async (tag: string | undefined, opts: { policy?: string; stop?: boolean }) => {
    if (!tag && !opts.stop) throw new Error('give the challenger tag, or --stop');
    await runModelShadow(loadConfigOrExit(), opts.stop ? undefined : tag, opts.policy);
  });

model
  .command('rollback')
  .description('return to the previous champion')
  .action(async () => {
    await runModelRollback(loadConfigOrExit());
  });

interface TrainCommandOptions {
  legitSample: number;
  tag?: string;
  baseGguf?: string;
  maxRows: number;
  headRows: number;
  epochs: number;
  learningRate: number;
  contextSize: number;
  quantization: string;
  trainShare: number;
  calibrateShare: number;
  maxEscalation: number;
  maxFalsePositiveRate: number;
  maxReviewFalsePositiveRate: number;
  minDeclinePrecision: number;
}

const rules = program
  .command('rules')
  .description('rule sets as data: check, backtest on a replay, promote, roll back');

rules
  .command('check')
  .argument('<file>', 'a rules file (YAML or JSON)')
  .description('load a rules file as a worker would: refusals name the file, line and field')
  .action(async (file: string) => {
    const set = await compileRulesFile(loadConfigOrExit(), file);
    console.log(`${file}: ${set.rules.length} rules, ${Object.keys(set.lists).length} lists, hash ${set.hash}`);
  });

rules
  .command('test')
  .argument('<file>', 'a rules file (YAML or JSON)')
  .argument('<replayId>', 'a scored replay (fraudflow replay)')
  .description("backtest a rule set on a scored replay's stored answers, no model calls, against the live rules")
  .action(async (file: string, replayId: string) => {
    await backtestCommand(loadConfigOrExit(), file, replayId);
  });

rules
  .command('promote')
  .argument('<file>', 'a rules file (YAML or JSON)')
  .description('make a rule set live for new transactions, on every worker, without a restart')
  .option('--replay <replayId>', "backtest on this replay first; refused when it breaks the scoring policy's limits")
  .option('--force', 'promote without a backtest, or one that breaks the limits')
  .option('--by <name>', 'who (default: the login name)')
  .option('--reason <text>', 'why (required; audited)')
  .action(async (file: string, opts: { replay?: string; force?: boolean; by?: string; reason?: string }) => {
    await promoteCommand(loadConfigOrExit(), file, opts);
  });

rules
  .command('rollback')
  .description('return to the previous live rule set (the shipped rules after the first promotion)')
  .option('--by <name>', 'who (default: the login name)')
  .option('--reason <text>', 'why (required; audited)')
  .action(async (opts: { by?: string; reason?: string }) => {
    await rollbackCommand(loadConfigOrExit(), opts);
  });

rules
  .command('show')
  .description('the live rule set: hash, file, who promoted it, when and why')
  .action(async () => {
    await showLiveCommand(loadConfigOrExit());
  });

const lists = program
  .command('lists')
  .description('saved lists rules read (kinds: card_token, merchant_id, bin_prefix, country, email_domain, ip_range)');

for (const action of ['add', 'remove'] as const) {
  lists
    .command(action)
    .argument('<kind>', 'card_token | merchant_id | bin_prefix | country | email_domain | ip_range')
    .argument('<name>', 'the list, as rules name it (lists.<name>)')
    .argument('<entries...>')
    .description(`${action} entries; audited with who, when and why`)
    .option('--by <name>', 'who (default: the login name)')
    .option('--reason <text>', 'why (required; audited)')
    .action(async (kind: string, name: string, entries: string[], opts: { by?: string; reason?: string }) => {
      await listsCommand(loadConfigOrExit(), action, kind, name, entries, opts);
    });
}

lists
  .command('import')
  .argument('<kind>', 'card_token | merchant_id | bin_prefix | country | email_domain | ip_range')
  .argument('<name>', 'the list')
  .argument('<file>', 'one entry per line (or a CSV, first column); # comments')
  .description('add every entry of a file in one audited change (all or nothing)')
  .option('--by <name>', 'who (default: the login name)')
  .option('--reason <text>', 'why (required; audited)')
  .action(async (kind: string, name: string, file: string, opts: { by?: string; reason?: string }) => {
    await listsCommand(loadConfigOrExit(), 'import', kind, name, importEntries(file), opts);
  });

lists
  .command('show')
  .argument('[kind]')
  .argument('[name]')
  .description("every list with its size, or one list's entries")
  .action(async (kind?: string, name?: string) => {
    await showListsCommand(loadConfigOrExit(), kind, name);
  });

lists
  .command('audit')
  .description('the latest list changes, newest first: when, who, what, why')
  .option('--count <n>', 'how many', positiveInt, 50)
  .action(async (opts: { count: number }) => {
    await listAuditCommand(loadConfigOrExit(), opts.count);
  });

program
  .command('report')
  .description(
    'rebuild a replay report, or compare: report <replayId> | report --compare <runA> <runB> | report --compare <replayId> (its shadow challenger)',
  )
  .argument('[replayIds...]')
  .option('--compare', 'compare two replays side by side')
  .action(async (ids: string[], opts: { compare?: boolean }) => {
    const config = loadConfigOrExit();
    const [a, b] = ids;
    if (opts.compare) {
      if (ids.length === 1 && a) {
        compareShadowCommand(config, a);
        return;
      }
      if (ids.length !== 2 || !a || !b) throw new Error('report --compare needs two replay ids, or one with a shadow');
      compareCommand(config, a, b);
      return;
    }
    if (ids.length !== 1 || !a) throw new Error('report needs one replay id');
    await rebuildReport(config, a);
  });

program
  .command('test')
  .description('the whole test suite on the real stack (brings the stack up first); same as `bin/fraudflow test`')
  .argument('[vitestArgs...]', 'passed to vitest, e.g. a test file')
  .allowUnknownOption()
  .action(async (vitestArgs: string[]) => {
    const root = path.resolve(__dirname, '..', '..');
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(npm, ['test', '--silent', '--', ...vitestArgs], { cwd: root, stdio: 'inherit' });
      child.once('error', reject);
      child.once('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
    });
    process.exitCode = code;
  });

program
  .command('codec-server')
  .description('serve /encode and /decode for the Temporal UI and CLI (payload encryption keys from config)')
  .action(async () => {
    const config = loadConfigOrExit();
    const server = await startCodecServer({
      keyring: codecKeyring(config),
      host: config.codec.serverHost,
      port: config.codec.serverPort,
      token: config.codec.serverToken,
      corsOrigins: config.codec.corsOrigins,
      compress: config.codec.compression,
    });
    console.log(`fraudflow codec server: ${server.url} (CORS: ${config.codec.corsOrigins.join(', ')})`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await server.close();
  });

registerCasesCommand(program);

program.parseAsync().catch((err: unknown) => {
  // Errors that say what to do are printed as they are; anything else with its stack.
  const explained = [
    StackError,
    MissingTopicError,
    PolicyFileError,
    ModelRegistryError,
    RuleSetError,
    ListChangeError,
    RulesCommandError,
    CaseNotFoundError,
    CaseVerdictRefusedError,
    CaseWorkerUnavailableError,
    DecisionNotFound,
  ];
  if (explained.some((kind) => err instanceof kind)) {
    console.error(`fraudflow: ${(err as Error).message}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
