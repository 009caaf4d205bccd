/**
 * `fraudflow cases list|show|resolve|serve`: the analyst's side of a review, on the configured deployment's cases
 * task queue. Each command connects, does its one thing through the case desk (src/cases/desk.ts), and closes.
 */
import os from 'node:os';
import type { Command } from 'commander';
import { startCaseConsole } from '../cases/console';
import { caseSorts, listCases, readCase, resolveCase } from '../cases/desk';
import type { CaseFile } from '../cases/desk';
import type { Config } from '../config';
import { loadConfigOrExit } from '../config';
import { formatMoney } from '../money';
import { ResolveCaseRequest } from '../schemas/case';
import { taskQueuesFor } from '../task-queues';
import { connectClient } from '../temporal/client';
import type { Client } from '@temporalio/client';

async function withClient<T>(config: Config, work: (client: Client, taskQueue: string) => Promise<T>): Promise<T> {
  const client = await connectClient(config);
  try {
    return await work(client, taskQueuesFor(config.taskQueuePrefix).cases);
  } finally {
    await client.connection.close();
  }
}

/** The analyst id when none is given: the OS user, so a verdict from a terminal is never anonymous. */
const defaultAnalyst = () => process.env.FRAUDFLOW_ANALYST ?? os.userInfo().username;

export function registerCasesCommand(program: Command): void {
  const cases = program.command('cases').description('work the review queue: list, show and resolve cases');
  cases
    .command('list')
    .description('cases from Temporal visibility (search attributes FraudCaseStatus, FraudCaseOpenedAt, ...)')
    .option('--open', 'only cases waiting for a verdict')
    .option('--sort <order>', `${caseSorts.join(' | ')} (risk and amount highest first, age oldest first)`, 'age')
    .option('--limit <n>', 'rows at most', (v) => Number.parseInt(v, 10), 200)
    .action(async (opts: { open?: boolean; sort: string; limit: number }) => {
      const sort = caseSorts.find((s) => s === opts.sort);
      if (!sort) throw new Error(`unknown sort '${opts.sort}'; expected one of ${caseSorts.join(', ')}`);
      const rows = await withClient(loadConfigOrExit(), (client, taskQueue) =>
        listCases(client, { taskQueue, open: opts.open, sort, limit: opts.limit }),
      );
      console.log(
        ['transaction'.padEnd(42), 'status  ', 'risk', '    amount', 'opened'.padEnd(24), 'verdict'].join(' '),
      );
      for (const r of rows) {
        console.log(
          [
            r.transactionId.padEnd(42),
            r.status.padEnd(8),
            r.riskScore.toFixed(2),
            r.amount.toFixed(2).padStart(10),
            r.openedAt.toISOString().padEnd(24),
            r.verdict ?? '',
          ].join(' '),
        );
      }
      console.log(`${rows.length} case(s)`);
    });
  cases
    .command('show')
    .description('the whole case file: transaction, card history, rule hits, model answers and cost, outcome')
    .argument('<transactionId>')
    .option('--json', 'print the case file as JSON')
    .action(async (transactionId: string, opts: { json?: boolean }) => {
      const file = await withClient(loadConfigOrExit(), (client, taskQueue) =>
        readCase(client, transactionId, taskQueue),
      );
      console.log(opts.json ? JSON.stringify(file, null, 2) : describeCase(file));
    });
  cases
    .command('resolve')
    .description('give the verdict: fraud (the final decision declines) or legitimate (it approves)')
    .argument('<transactionId>')
    .argument('<verdict>', 'fraud | legitimate')
    .option('--note <text>', 'why, for the case record')
    .option('--analyst <id>', 'who decides @default $FRAUDFLOW_ANALYST or the OS user')
    .action(async (transactionId: string, verdict: string, opts: { note?: string; analyst?: string }) => {
      const parsed = ResolveCaseRequest.safeParse({
        transactionId,
        verdict,
        analyst: opts.analyst ?? defaultAnalyst(),
        ...(opts.note ? { note: opts.note } : {}),
      });
      if (!parsed.success) {
        throw new Error(
          `invalid verdict: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      }
      const final = await withClient(loadConfigOrExit(), (client) => resolveCase(client, parsed.data));
      console.log(
        `case ${transactionId}: ${parsed.data.verdict} by ${parsed.data.analyst}; final decision ${final.decision} published`,
      );
    });
  cases
    .command('serve')
    .description('the case console: list, case file and verdict buttons in a browser (CASE_CONSOLE_HOST/PORT/TOKEN)')
    .action(async () => {
      const config = loadConfigOrExit();
      await withClient(config, async (client, taskQueue) => {
        const console_ = await startCaseConsole({ client, taskQueue, ...config.cases.console });
        console.log(`fraudflow case console: ${console_.url}${config.cases.console.token ? ' (bearer token)' : ''}`);
        await new Promise<void>((resolve) => {
          process.once('SIGTERM', resolve);
          process.once('SIGINT', resolve);
        });
        await console_.close();
      });
    });
}

function describeCase(file: CaseFile): string {
  const { event, review } = file;
  const lines = [
    `case ${file.transactionId}: ${file.status} (opened ${file.openedAt}, due ${file.dueAt})`,
    `  ${formatMoney(event.amount)} at ${event.merchant.name} (MCC ${event.merchant.mcc}, ${event.merchant.country ?? '?'}), ${event.channel}, card ${event.cardToken}`,
    `  review: risk ${review.riskScore.toFixed(3)} on path ${review.path}`,
    ...review.ruleHits.map((h) => `  rule ${h.rule} → ${h.effect}: ${h.detail}`),
    ...review.reasons.map((r) => `  reason: ${r}`),
    ...review.modelCalls.map(
      (c) =>
        `  ${c.tier} ${c.provider} ${c.model}: ${c.outcome}` +
        `${c.riskScore !== undefined ? ` risk ${c.riskScore.toFixed(2)}` : ''} $${c.costUsd.toFixed(5)}`,
    ),
    `  card history: ${review.features ? JSON.stringify(review.features) : 'unavailable'}`,
  ];
  const r = file.resolution;
  if (r) {
    lines.push(
      r.resolvedBy === 'analyst'
        ? `  resolved ${r.verdict} by ${r.analyst} at ${r.resolvedAt}${r.note ? `: ${r.note}` : ''}`
        : `  expired at ${r.resolvedAt}`,
    );
  }
  if (file.final) lines.push(`  final decision: ${file.final.decision}`);
  return lines.join('\n');
}
