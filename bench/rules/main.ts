/**
 * `npm run bench:rules`: what rules cost, measured by a program (not a test). Prints:
 *
 * 1. Rule evaluation per transaction (building the rule input and evaluating every rule, as the card-history
 *    activity does after its round trip), p50 / p99 / max over synthetic transactions with point-in-time features:
 *    the shipped rules, and a generated set of 200 rules mixing comparisons, parameter lists, list memberships
 *    and string tests. Target: p99 ≤ 1 ms with 200 rules.
 * 2. `fraudflow rules test` wall time on a scored replay of 7,000 rows (a synthetic one written to a temporary
 *    REPLAY_DIR: stored decisions, features and probabilities, as a real replay stores them), end to end as the CLI
 *    runs it: read the replay, compile, read the live rule set and lists from the feature store, backtest both.
 *    Target: < 10 s.
 *
 *   npm run bench:rules -- [--transactions 5000] [--rules 200] [--replay-rows 7000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { backtestCommand } from '../../src/cli/rules';
import { loadConfig } from '../../src/config';
import { ReplayCardHistory } from '../../src/features/replay-history';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { percentile } from '../../src/observability/figures';
import { ReplayStore } from '../../src/replay/store';
import type { CompiledRuleSet } from '../../src/rules/compile';
import { compileRuleSetText } from '../../src/rules/compile';
import { evaluateRuleSet, ruleInputFor } from '../../src/rules/evaluate';
import { compileShippedRules, shippedRulesFile } from '../../src/rules/shipped';
import { scoredReplayRows, writeScoredReplay } from '../../src/testing/scored-replay';

const { values } = parseArgs({
  options: {
    transactions: { type: 'string', default: '5000' },
    rules: { type: 'string', default: '200' },
    'replay-rows': { type: 'string', default: '7000' },
  },
});
const transactions = Number(values.transactions);
const ruleCount = Number(values.rules);
const replayRows = Number(values['replay-rows']);

/** `count` rules over every kind of attribute, list and param, the way a fraud team's file grows. */
function generatedRules(count: number): string {
  const conditions = [
    (i: number) => `txn.amountUsd >= ${100 + i * 7}.0 && card.txnCount24h > ${i % 9}.0`,
    (i: number) => `txn.mcc in params.mccs${i % 4} && txn.channel == "ecommerce"`,
    (i: number) => `lists.list${i % 6} && txn.amount > ${i}.5`,
    (i: number) => `txn.emailDomain.endsWith(".example${i % 5}") || txn.ipAddress.startsWith("10.${i % 200}.")`,
    (i: number) => `card.distanceKmFromPrevious > ${200 + i}.0 && card.speedKmhFromPrevious > ${500 + i}.0`,
    (i: number) => `txn.merchantCountry in params.countries && card.firstTimeCountry && card.localHour < ${i % 24}.0`,
    (i: number) => `card.amountRatioToMean > ${2 + (i % 5)}.0 && !card.firstTimeMerchant && size(txn.merchantId) > 3`,
  ];
  const actions = ['review', 'escalate', 'tag', 'block', 'review', 'tag'];
  const mccs = (k: number) => Array.from({ length: 40 }, (_, j) => `"${String(5000 + k * 40 + j)}"`).join(', ');
  const kinds = ['card_token', 'merchant_id', 'country', 'email_domain', 'ip_range', 'bin_prefix'];
  return [
    'version: 1',
    'params:',
    ...[0, 1, 2, 3].map((k) => `  mccs${k}: [${mccs(k)}]`),
    '  countries: [RU, BR, NG, VN, ID, PH, UA, TR]',
    'lists:',
    ...kinds.map((kind, k) => `  list${k}: ${kind}`),
    'rules:',
    ...Array.from({ length: count }, (_, i) =>
      [
        `  - name: rule_${i}`,
        `    action: ${actions[i % actions.length]}`,
        `    condition: '${conditions[i % conditions.length]!(i)}'`,
        `    reason: generated rule ${i}`,
        i % 10 === 9 ? '    mode: shadow' : '',
      ]
        .filter(Boolean)
        .join('\n'),
    ),
  ].join('\n');
}

function measureEvaluation(set: CompiledRuleSet, label: string): { p50: number; p99: number; max: number } {
  const generator = createTransactionGenerator({ seed: 5, fraudShare: 0.05 });
  const history = new ReplayCardHistory();
  const cases = Array.from({ length: transactions }, (_, i) => {
    const event = generator.next();
    const lists = Object.fromEntries(Object.keys(set.lists).map((name, k) => [name, (i + k) % 17 === 0]));
    return { event, features: history.featuresFor(event), lists };
  });
  // Warm up the interpreter on a tenth of the cases before timing.
  for (const c of cases.slice(0, Math.ceil(cases.length / 10)))
    evaluateRuleSet(set, ruleInputFor(c.event, c.features, c.lists));
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  let hits = 0;
  for (const c of cases) {
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    const verdict = evaluateRuleSet(set, ruleInputFor(c.event, c.features, c.lists));
    wallMs.push(Number(process.hrtime.bigint() - start) / 1e6);
    const used = process.cpuUsage(cpu);
    cpuMs.push((used.user + used.system) / 1000);
    hits += verdict.hits.length + verdict.shadowHits.length;
  }
  const figures = (xs: number[]) => {
    xs.sort((a, b) => a - b);
    return { p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs.at(-1) ?? 0 };
  };
  const wall = figures(wallMs);
  const cpu = figures(cpuMs);
  const line = (f: typeof wall) => `p50 ${f.p50.toFixed(3)} ms  p99 ${f.p99.toFixed(3)} ms  max ${f.max.toFixed(3)} ms`;
  console.log(`${label.padEnd(24)} ${String(set.rules.length).padStart(4)} rules  wall ${line(wall)}`);
  console.log(`${''.padEnd(35)} CPU  ${line(cpu)}  (${transactions} transactions, ${hits} hits)`);
  return wall;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  console.log(`rule evaluation per transaction (${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}):`);
  measureEvaluation(await compileShippedRules(config.policy.rules), `shipped (${path.basename(shippedRulesFile)})`);
  const generated = await compileRuleSetText(generatedRules(ruleCount), `generated-${ruleCount}.yaml`);
  const many = measureEvaluation(generated, `generated`);
  console.log(`  target wall p99 ≤ 1 ms with 200 rules: ${many.p99 <= 1 ? 'met' : 'NOT met'}\n`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rules-'));
  try {
    const replayId = `bench-rules-${replayRows}`;
    writeScoredReplay(
      new ReplayStore(dir),
      replayId,
      scoredReplayRows({ rows: replayRows, seed: 9, policy: config.policy, replayId }),
    );
    const rulesFile = path.join(dir, 'candidate.yaml');
    fs.writeFileSync(rulesFile, generatedRules(ruleCount));
    const started = Date.now();
    await backtestCommand(loadConfig({ ...process.env, REPLAY_DIR: dir }), rulesFile, replayId);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `\nrules test, ${ruleCount} rules on ${replayRows} rows: ${seconds.toFixed(2)} s (target < 10 s: ${seconds < 10 ? 'met' : 'NOT met'})`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
