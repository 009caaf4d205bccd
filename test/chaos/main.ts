/**
 * `npm run chaos`: the full chaos run (a program that prints figures, not a timed test).
 * Options: --count N (default 2000), --local ollama|instant (default instant: a stand-in that answers at once, so
 * a large run is about the pipeline rather than queueing on the one local model), --kill-every S (default 45),
 * --invalid N (default 2% of count), --seed N (default random; the report prints it).
 */
import { parseArgs } from 'node:util';
import { modelsDecided, runChaos } from './chaos';

async function main() {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '2000' },
      local: { type: 'string', default: 'instant' },
      // A worker kill every 45 s: the full run kills about ten times while the backlog drains.
      'kill-every': { type: 'string', default: '45' },
      invalid: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  const local = values.local === 'ollama' ? 'ollama' : 'instant';
  const report = await runChaos({
    count: Number(values.count),
    localModel: local,
    killEverySeconds: Number(values['kill-every']),
    ...(values.invalid !== undefined ? { invalid: Number(values.invalid) } : {}),
    ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
  });
  console.log('\n=== fraudflow chaos report ===');
  for (const [k, v] of Object.entries(report))
    console.log(`${k.padEnd(20)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  const ok =
    report.lost === 0 &&
    report.conflictingCopies === 0 &&
    report.runningAfterSettle === 0 &&
    report.decided === report.valid &&
    report.deadLettered === report.invalid &&
    report.otherDeadLetters === 0 &&
    modelsDecided(report);
  console.log(
    ok
      ? 'PASS: every transaction decided exactly once, every invalid message dead-lettered, nothing lost, the models (not the fallback) deciding'
      : 'FAIL',
  );
  process.exit(ok ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
