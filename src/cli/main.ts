/**
 * The fraudflow command line: `fraudflow <command>`. Run through bin/fraudflow, which installs dependencies first.
 */
import { Command } from 'commander';
import { loadConfigOrExit } from '../config';
import { StackError, stackDown, stackLogs, stackStatus, stackUp } from '../stack';

const program = new Command('fraudflow').description('Durable LLM fraud scoring on Kafka, Temporal and a local model');

const stack = program.command('stack').description('the local Kafka + Temporal + Ollama stack (no Docker)');
stack
  .command('up')
  .description('provision (cached), start and health-check every service; idempotent')
  .option('--timeout <seconds>', 'seconds each service may take to become healthy', '120')
  .action(async (opts: { timeout: string }) => {
    await stackUp(loadConfigOrExit(), { timeoutSeconds: Number(opts.timeout) });
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
  .argument('[service]', 'temporal | kafka | ollama')
  .option('-f, --follow', 'keep streaming')
  .option('-n, --lines <n>', 'lines per log', '50')
  .action(async (service: string | undefined, opts: { follow?: boolean; lines: string }) =>
    stackLogs(loadConfigOrExit(), { service, follow: opts.follow, lines: Number(opts.lines) }),
  );

program.parseAsync().catch((err: unknown) => {
  if (err instanceof StackError) {
    console.error(`fraudflow: ${err.message}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
