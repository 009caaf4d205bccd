/**
 * The outcomes process on the real stack (Kafka, Redis): decisions on a decisions topic of its own, then late
 * labels (with an invalid one, a duplicate, two conflicting ones and one for a transaction with no decision). The
 * live metrics it serves must equal the confusion matrix, rates, label delay and score drift this test computes
 * from its own ground truth, and the invalid labels must be on the labels' dead-letter topic with their reasons.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Consumer, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { publishLabel } from '../../src/cli/outcomes';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/client';
import { startMetricsServer } from '../../src/observability/metrics';
import type { Outcomes } from '../../src/outcomes/consumer';
import { startOutcomes } from '../../src/outcomes/consumer';
import { outcomeStoreFor } from '../../src/outcomes/read-quality';
import type { OutcomeStore } from '../../src/outcomes/store';
import { DeadLetter } from '../../src/schemas/dead-letter';
import type { Decision, DecisionOutcome } from '../../src/schemas/decision';
import type { Label } from '../../src/schemas/label';
import { loadPolicyFile } from '../../src/scoring/policy-file';
import { scoringSettingsFromConfig } from '../../src/scoring/settings';

const run = randomUUID().slice(0, 8);
const topics = {
  decisions: `test.outcomes-${run}.decisions`,
  labels: `test.outcomes-${run}.labels`,
  labelsDeadLetter: `test.outcomes-${run}.labels.dlq`,
};
const hour = 3600_000;
const keyPrefix = `test-outcomes-${run}`;
/** The tuning distribution written into this test's policy file; live probabilities are drawn far from it. */
const reference = { edges: [0.01, 0.05, 0.2], shares: [0.6, 0.25, 0.1, 0.05] };
const binProbabilities = [0.005, 0.03, 0.1, 0.5];

/** A deterministic stream of numbers in [0, 1). */
function numbers(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function decisionOf(
  transactionId: string,
  policyHash: string,
  decidedAt: string,
  probability: number,
  over: Partial<Decision> = {},
): Decision {
  const decision: DecisionOutcome = probability >= 0.2 ? 'decline' : probability >= 0.05 ? 'review' : 'approve';
  return {
    schemaVersion: 1,
    transactionId,
    decision,
    riskScore: probability,
    reasons: [],
    path: 'local',
    ruleHits: [],
    modelCalls: [
      {
        provider: 'ollama',
        model: 'fraudflow-test',
        tier: 'local',
        outcome: 'ok',
        latencyMs: 5,
        inputTokens: 10,
        outputTokens: 0,
        costUsd: 0,
        riskScore: probability,
      },
    ],
    decidedAt,
    workflowId: `score-${transactionId}`,
    runId: 'run',
    source: { kind: 'api' },
    policyHash,
    promptVersion: 'test',
    ...over,
  };
}

/** `name{a="x",b="y"} value` lines of a Prometheus text exposition. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  return text.split('\n').flatMap((line) => {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) return [];
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1] ?? ''] = l[2] ?? '';
    return [{ labels, value: Number(m[3]) }];
  });
}

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  return samples(text, name).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function waitFor(what: string, done: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('outcomes coming back: live quality on the real stack', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-outcomes-'));
  let config: Config;
  let store: OutcomeStore;
  let outcomes: Outcomes;
  let producer: Producer;
  let metricsServer: { url: string; close(): Promise<void> } | undefined;
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    const policy = loadPolicyFile();
    const policyFile = path.join(tmp, 'policy.json');
    const withDistribution = {
      ...policy.policy,
      provenance: { ...policy.policy.provenance, scoreDistribution: reference },
    };
    fs.writeFileSync(policyFile, JSON.stringify(withDistribution));
    config = loadConfig({
      ...process.env,
      SCORING_POLICY_FILE: policyFile,
      TOPIC_DECISIONS: topics.decisions,
      TOPIC_LABELS: topics.labels,
      TOPIC_LABELS_DEAD_LETTER: topics.labelsDeadLetter,
      OUTCOMES_GROUP_ID: `test-outcomes-${run}`,
    });
    const kafka = createKafka(config, 'test-outcomes');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: topics.decisions, numPartitions: 3 },
        { topic: topics.labels, numPartitions: 2 },
        { topic: topics.labelsDeadLetter, numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    metricsServer = await startMetricsServer(0);
    store = outcomeStoreFor(config, keyPrefix);
    outcomes = await startOutcomes({ config, store, metricsRefreshMs: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await outcomes?.stop();
    await store?.close();
    // This run's keys go: records would otherwise stay for the 120-day retention.
    const redis = new Redis(config.featureStore.url);
    const keys = await redis.keys(`${keyPrefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await producer?.disconnect();
    await Promise.all(consumers.map((c) => c.disconnect()));
    await metricsServer?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const send = (topic: string, messages: Array<{ key: string; value: string }>) =>
    producer.send({ topic, acks: -1, messages });

  it('live metrics equal the confusion matrix of the ground truth; bad labels are dead-lettered with the reason', async () => {
    const policyHash = scoringSettingsFromConfig(config).policyHash;
    const otherPolicy = `other-${run}`;
    const now = Date.now();
    const decidedAt = new Date(now - 6 * hour).toISOString();
    const next = numbers(7);

    // 150 decisions of the configured policy, live probabilities drawn 20/30/30/20 over the tuning bins; reviews
    // come as a provisional decision, and half of them later as the final one with the analyst's case outcome.
    const liveShares = [0.2, 0.3, 0.3, 0.2];
    const truth = new Map<string, { policyHash: string; decision: DecisionOutcome; fraud: boolean }>();
    const decisionMessages: Array<{ key: string; value: string }> = [];
    const liveBins = [0, 0, 0, 0];
    for (let i = 0; i < 160; i++) {
      const id = `o-${run}-${i}`;
      const hash = i < 150 ? policyHash : otherPolicy;
      const bin = liveShares.findIndex((_, b) => i % 10 < liveShares.slice(0, b + 1).reduce((s, v) => s + v, 0) * 10);
      const probability = binProbabilities[bin] ?? 0.5;
      if (hash === policyHash) liveBins[bin]!++;
      const fraud = next() < probability * 1.5;
      const d = decisionOf(id, hash, decidedAt, probability);
      truth.set(id, { policyHash: hash, decision: d.decision, fraud });
      if (d.decision !== 'review') {
        decisionMessages.push({ key: id, value: JSON.stringify(d) });
        continue;
      }
      decisionMessages.push({ key: id, value: JSON.stringify({ ...d, stage: 'provisional' }) });
      if (i % 2 === 0) {
        const closed = {
          ...d,
          decision: fraud ? 'decline' : 'approve',
          stage: 'final',
          decidedAt: new Date(now - 5 * hour).toISOString(),
          case: {
            resolvedBy: 'analyst',
            verdict: fraud ? 'fraud' : 'legitimate',
            analyst: 'a1',
            openedAt: decidedAt,
            resolvedAt: new Date(now - 5 * hour).toISOString(),
          },
        };
        decisionMessages.push({ key: id, value: JSON.stringify(closed) });
      }
    }
    await send(topics.decisions, decisionMessages);
    await waitFor('the decisions', () => outcomes.counters.decisions >= decisionMessages.length);

    // Late labels: 130 of the transactions, 1 to 5 hours after their decision.
    const labelOf = (id: string, over: Partial<Label> = {}, delayHours = 1): Label => ({
      schemaVersion: 1,
      transactionId: id,
      outcome: truth.get(id)?.fraud ? 'fraud' : 'legitimate',
      source: 'analyst',
      reportedAt: new Date(Date.parse(decidedAt) + delayHours * hour).toISOString(),
      ...over,
    });
    const labelled = [...truth.keys()].filter((_, i) => i % 20 !== 3 && i % 20 !== 11).slice(0, 130);
    const labels: Array<{ key: string; value: string }> = [];
    const finalLabel = new Map<string, Label>();
    labelled.forEach((id, i) => {
      const label = labelOf(id, {}, 1 + (i % 5));
      finalLabel.set(id, label);
      labels.push({ key: id, value: JSON.stringify(label) });
    });
    const [dup, flipped, disputed] = labelled;
    // A duplicate; a chargeback that overturns an analyst's verdict (it wins: the truth follows it); a customer's
    // claim against an analyst's verdict (it loses: the analyst's stays).
    labels.push({ key: dup!, value: JSON.stringify(finalLabel.get(dup!)) });
    const chargeback = labelOf(
      flipped!,
      {
        source: 'chargeback',
        outcome: truth.get(flipped!)?.fraud ? 'legitimate' : 'fraud',
        reasonCode: '10.4',
      },
      5,
    );
    finalLabel.set(flipped!, chargeback);
    labels.push({ key: flipped!, value: JSON.stringify(chargeback) });
    const claim = labelOf(
      disputed!,
      { source: 'customer', outcome: truth.get(disputed!)?.fraud ? 'legitimate' : 'fraud' },
      5,
    );
    labels.push({ key: disputed!, value: JSON.stringify(claim) });
    // A label for a transaction fraudflow has not decided (yet), and two that are no labels at all.
    const unknownId = `o-${run}-unknown`;
    labels.push({ key: unknownId, value: JSON.stringify(labelOf(unknownId, { outcome: 'fraud' }, 2)) });
    labels.push({ key: `o-${run}-bad`, value: JSON.stringify({ ...labelOf(dup!), outcome: 'maybe' }) });
    labels.push({ key: `o-${run}-garbled`, value: '{"transactionId": ' });
    await send(topics.labels, labels);
    await waitFor('the labels', () => outcomes.counters.labels + outcomes.counters.deadLetteredLabels >= labels.length);

    // The ground truth's confusion matrix, per policy.
    const expectedCells = (hash: string) => {
      const cells: Record<string, number> = {};
      for (const [id, label] of finalLabel) {
        const t = truth.get(id);
        if (t?.policyHash !== hash) continue;
        const key = `${t.decision}|${label.outcome}`;
        cells[key] = (cells[key] ?? 0) + 1;
      }
      return cells;
    };
    /** A rate without a denominator is not exposed at all. */
    const expectRate = (value: number | undefined, want: number | undefined) =>
      want === undefined ? expect(value).toBeUndefined() : expect(value).toBeCloseTo(want, 9);
    const rates = (cells: Record<string, number>, flagged: (d: string) => boolean) => {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      let tn = 0;
      for (const [key, n] of Object.entries(cells)) {
        const [decision, outcome] = key.split('|');
        const hit = flagged(decision ?? '');
        if (outcome === 'fraud' && hit) tp += n;
        else if (outcome === 'fraud') fn += n;
        else if (hit) fp += n;
        else tn += n;
      }
      const ratio = (a: number, b: number) => (b > 0 ? a / b : undefined);
      return { precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn), fpr: ratio(fp, fp + tn) };
    };

    await outcomes.refreshMetrics();
    const text = await (await fetch(metricsServer!.url)).text();
    for (const hash of [policyHash, otherPolicy]) {
      const cells = expectedCells(hash);
      for (const window of ['1d', '7d', '30d']) {
        for (const decision of ['approve', 'review', 'decline']) {
          for (const outcome of ['fraud', 'legitimate']) {
            const at = { policy_hash: hash, window, decision, outcome };
            expect(sample(text, 'fraudflow_live_labelled_outcomes', at), JSON.stringify(at)).toBe(
              cells[`${decision}|${outcome}`] ?? 0,
            );
          }
        }
        for (const [level, flagged] of [
          ['decline', (d: string) => d === 'decline'],
          ['review_or_decline', (d: string) => d !== 'approve'],
        ] as const) {
          const want = rates(cells, flagged);
          const at = { policy_hash: hash, window, level };
          expectRate(sample(text, 'fraudflow_live_precision', at), want.precision);
          expectRate(sample(text, 'fraudflow_live_recall', at), want.recall);
          expectRate(sample(text, 'fraudflow_live_false_positive_rate', at), want.fpr);
        }
      }
    }
    expect(Object.values(expectedCells(policyHash)).reduce((s, n) => s + n, 0)).toBeGreaterThan(100);

    // Label delay: the mean over the configured policy's labelled outcomes, seconds.
    const delays = [...finalLabel]
      .filter(([id]) => truth.get(id)?.policyHash === policyHash)
      .map(([, l]) => (Date.parse(l.reportedAt) - Date.parse(decidedAt)) / 1000);
    expect(
      sample(text, 'fraudflow_live_label_delay_mean_seconds', { policy_hash: policyHash, window: '1d' }),
    ).toBeCloseTo(delays.reduce((s, d) => s + d, 0) / delays.length, 6);

    // Score drift: PSI of the 150 live probabilities against the policy file's tuning distribution, past 0.2.
    const n = liveBins.reduce((s, c) => s + c, 0);
    const psi = reference.shares.reduce((s, e, i) => s + (liveBins[i]! / n - e) * Math.log(liveBins[i]! / n / e), 0);
    expect(psi).toBeGreaterThan(0.2);
    expect(sample(text, 'fraudflow_score_drift_psi', { policy_hash: policyHash, window: '1d' })).toBeCloseTo(psi, 9);
    expect(sample(text, 'fraudflow_score_drift_warning', { policy_hash: policyHash, window: '1d' })).toBe(1);
    // No tuning distribution for the other policy: no PSI rather than a made-up one.
    expect(sample(text, 'fraudflow_score_drift_psi', { policy_hash: otherPolicy, window: '1d' })).toBeUndefined();

    // What happened to the labels, counted.
    const count = (kind: string) => sample(text, 'fraudflow_outcome_counts', { kind });
    expect(count('decisions')).toBe(160);
    expect(count('decisionRedeliveries')).toBe(decisionMessages.length - 160);
    expect(count('labels')).toBe(labels.length - 2);
    expect(count('duplicateLabels')).toBe(1);
    expect(count('conflictingLabels')).toBe(2);
    expect(count('replacedLabels')).toBe(1);
    expect(count('keptLabels')).toBe(1);
    expect(count('labelsBeforeDecision')).toBe(1);
    expect(count('deadLetteredLabels')).toBe(2);
    expect(sample(text, 'fraudflow_labels_awaiting_decision', {})).toBe(1);

    // The invalid labels are on the dead-letter topic, with their reasons and original bytes.
    const deadLetters: DeadLetter[] = [];
    const consumer = createKafka(config, 'test-outcomes-dlq').consumer({ groupId: `test-outcomes-dlq-${run}` });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: topics.labelsDeadLetter, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        deadLetters.push(DeadLetter.parse(JSON.parse(message.value?.toString('utf8') ?? 'null')));
        return Promise.resolve();
      },
    });
    await waitFor('the dead-lettered labels', () => deadLetters.length >= 2);
    const bad = deadLetters.find((d) => Buffer.from(d.originalKeyBase64 ?? '', 'base64').toString() === `o-${run}-bad`);
    expect(bad?.reason).toBe('schema_violation');
    expect(bad?.detail).toContain('outcome');
    expect(bad?.source.topic).toBe(topics.labels);
    expect(Buffer.from(bad?.originalValueBase64 ?? '', 'base64').toString()).toContain('"maybe"');
    const garbled = deadLetters.find((d) => d !== bad);
    expect(garbled?.reason).toBe('invalid_json');

    // The unknown transaction's decision arrives after its label: the kept label joins it and it counts.
    await send(topics.decisions, [
      { key: unknownId, value: JSON.stringify(decisionOf(unknownId, otherPolicy, decidedAt, 0.5)) },
    ]);
    await waitFor('the late decision', () => outcomes.counters.decisions >= decisionMessages.length + 1);
    const joined = await outcomes.refreshMetrics();
    expect(joined.counts.labelsJoinedLate).toBe(1);
    expect(joined.awaitingDecision).toBe(0);
    const other1d = joined.windows.find((w) => w.policyHash === otherPolicy && w.window === '1d');
    expect(other1d?.tally.cells['decline|fraud']).toBe((expectedCells(otherPolicy)['decline|fraud'] ?? 0) + 1);
  }, 180_000);

  it('`fraudflow label` publishes a label the outcomes process applies under the precedence rule', async () => {
    const id = `o-${run}-7`;
    const before = outcomes.counters.labels;
    const held = (await store.read(id))?.label;
    expect(held?.source).toBe('analyst');
    const published = await publishLabel(config, {
      transactionId: id,
      outcome: held?.outcome === 'fraud' ? 'legitimate' : 'fraud',
      source: 'chargeback',
      reasonCode: '13.1',
    });
    await waitFor('the label', () => outcomes.counters.labels > before);
    expect((await store.read(id))?.label).toEqual(published);
    await expect(publishLabel(config, { transactionId: id, outcome: 'maybe' })).rejects.toThrow(/not a valid label/);
  });

  it('a record something else wrote over does not stop the consumer: it is replaced, and the next label applies', async () => {
    const id = `o-${run}-overwritten`;
    const redis = new Redis(config.featureStore.url);
    try {
      await redis.set(store.recordKey(id), 'not a record', 'PX', hour);
    } finally {
      await redis.quit();
    }
    const before = outcomes.counters.labels;
    const label = await publishLabel(config, { transactionId: id, outcome: 'fraud', source: 'customer' });
    await waitFor('the label', () => outcomes.counters.labels > before);
    expect(await store.read(id)).toEqual({ label });
  });

  it('two stores racing on one transaction count it exactly once, in the cell the precedence rule picks', async () => {
    const policyHash = `race-${run}`;
    const id = `o-${run}-race`;
    const stores = [outcomeStoreFor(config, keyPrefix), outcomeStoreFor(config, keyPrefix)];
    try {
      const at = (h: number) => new Date(Date.now() - h * hour).toISOString();
      const writes = Array.from({ length: 40 }, (_, i) => {
        const store = stores[i % 2]!;
        const source = (['customer', 'analyst', 'chargeback'] as const)[i % 3]!;
        return store.recordLabel({
          schemaVersion: 1,
          transactionId: id,
          outcome: i % 2 ? 'fraud' : 'legitimate',
          source,
          reportedAt: at(1 - i / 100),
        });
      });
      writes.push(
        stores[1]!
          .recordDecision({
            transactionId: id,
            policyHash,
            promptVersion: 'test',
            models: [],
            policyDecision: 'decline',
            finalDecision: 'decline',
            riskScore: 0.9,
            path: 'local',
            costUsd: 0,
            decidedAt: at(2),
          })
          .then(() => ({ effect: 'first' as const, conflict: false, awaitingDecision: false, joined: undefined })),
      );
      await Promise.all(writes);
      // The winner: the latest chargeback (i = 38: 38 % 3 = 2 → chargeback, even → legitimate).
      expect((await store.read(id))?.label).toMatchObject({ source: 'chargeback', outcome: 'legitimate' });
      const tallies = (await store.policyTallies()).find((p) => p.policyHash === policyHash)?.tallies ?? [];
      const cells = tallies.flatMap((t) => Object.entries(t.cells).filter(([, n]) => n !== 0));
      expect(cells).toEqual([['decline|legitimate', 1]]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
