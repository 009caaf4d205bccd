/** The case rules that need no server: which verdicts a case takes, what its final decision is, list order, pages. */
import { describe, expect, it } from 'vitest';
import { caseFilePage, caseListPage } from '../../src/cases/pages';
import type { CaseSummary } from '../../src/cases/desk';
import { sortCases } from '../../src/cases/desk';
import { loadConfig } from '../../src/config';
import { ResolveCaseRequest } from '../../src/schemas/case';
import type { CaseResolution, Decision } from '../../src/schemas/decision';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { finalOutcome, validateResolution } from '../../workflows/work-case';
import type { CaseFile } from '../../workflows/work-case';
import { sampleTransaction } from '../support/pipeline';

const event = TransactionEvent.parse(
  sampleTransaction({
    merchant: { id: 'm1', name: '<script>x</script>', mcc: '5411', category: 'grocery_pos', country: 'US' },
  }),
);
const review: Decision = {
  schemaVersion: 1,
  transactionId: event.transactionId,
  decision: 'review',
  riskScore: 0.78,
  reasons: ['local model: card-not-present at a new merchant'],
  path: 'local',
  ruleHits: [],
  modelCalls: [],
  decidedAt: '2026-12-07T00:00:00.000Z',
  workflowId: `score-${event.transactionId}`,
  runId: 'run-1',
  source: { kind: 'api' },
  policyHash: 'abc',
  promptVersion: 'p1',
  stage: 'provisional',
};

function openCase(resolution?: CaseResolution): CaseFile {
  return {
    transactionId: event.transactionId,
    status: resolution ? (resolution.resolvedBy === 'analyst' ? 'resolved' : 'expired') : 'open',
    openedAt: '2026-12-07T00:00:00.000Z',
    dueAt: '2026-12-08T00:00:00.000Z',
    review,
    event,
    resolution,
  };
}

const verdict = { transactionId: event.transactionId, verdict: 'fraud', analyst: 'ana' } as const;
const byAna: CaseResolution = {
  resolvedBy: 'analyst',
  verdict: 'fraud',
  analyst: 'ana',
  openedAt: '2026-12-07T00:00:00.000Z',
  resolvedAt: '2026-12-07T01:00:00.000Z',
};

describe('resolveCase validation', () => {
  it('takes a verdict for the case’s own transaction while it is open', () => {
    expect(() => validateResolution(openCase(), verdict)).not.toThrow();
  });

  it('refuses an unknown verdict, another transaction, and a missing analyst with a clear error', () => {
    const bad = (r: object) => () => validateResolution(openCase(), r as typeof verdict);
    expect(bad({ ...verdict, verdict: 'maybe' })).toThrow('unknown verdict "maybe": expected "fraud" or "legitimate"');
    expect(bad({ ...verdict, transactionId: 't-other' })).toThrow(
      `this case is for transaction ${event.transactionId}, not "t-other"`,
    );
    expect(bad({ ...verdict, analyst: ' ' })).toThrow('a verdict needs the analyst id');
  });

  it('accepts the same verdict again from the same analyst (idempotent) and refuses any other on a closed case', () => {
    expect(() => validateResolution(openCase(byAna), verdict)).not.toThrow();
    expect(() => validateResolution(openCase(byAna), { ...verdict, verdict: 'legitimate' })).toThrow(
      /is closed: resolved fraud by ana at 2026-12-07T01:00:00.000Z/,
    );
    expect(() => validateResolution(openCase(byAna), { ...verdict, analyst: 'bo' })).toThrow(/is closed/);
    const expired: CaseResolution = { resolvedBy: 'expiry', openedAt: byAna.openedAt, resolvedAt: byAna.resolvedAt };
    expect(() => validateResolution(openCase(expired), verdict)).toThrow(
      /is closed: expired at .* \(the SLA ran out\)/,
    );
  });

  it('fraud declines, legitimate approves, an expired case takes CASE_EXPIRY_ACTION', () => {
    expect(finalOutcome(byAna, 'approve')).toBe('decline');
    expect(finalOutcome({ ...byAna, verdict: 'legitimate' }, 'decline')).toBe('approve');
    const expired: CaseResolution = { resolvedBy: 'expiry', openedAt: byAna.openedAt, resolvedAt: byAna.resolvedAt };
    expect(finalOutcome(expired, 'approve')).toBe('approve');
    expect(finalOutcome(expired, 'decline')).toBe('decline');
  });

  it('parses the CLI and console request with zod: verdict and analyst required', () => {
    expect(ResolveCaseRequest.safeParse({ ...verdict, verdict: 'unsure' }).success).toBe(false);
    expect(ResolveCaseRequest.safeParse({ ...verdict, analyst: '' }).success).toBe(false);
    expect(ResolveCaseRequest.parse({ ...verdict, note: 'chargeback likely' }).note).toBe('chargeback likely');
  });
});

describe('case configuration', () => {
  it('defaults to cases on, a 24 h SLA and decline on expiry; reads durations', () => {
    const defaults = loadConfig({});
    expect(defaults.cases).toMatchObject({ enabled: true, slaMs: 86_400_000, expiryAction: 'decline' });
    expect(loadConfig({ CASE_SLA: '90s', CASE_EXPIRY_ACTION: 'approve' }).cases).toMatchObject({
      slaMs: 90_000,
      expiryAction: 'approve',
    });
    expect(loadConfig({ CASE_SLA: '2d' }).cases.slaMs).toBe(172_800_000);
    expect(loadConfig({ CASE_SLA: '5000' }).cases.slaMs).toBe(5000);
    expect(() => loadConfig({ CASE_SLA: 'soon' })).toThrow(/CASE_SLA/);
    expect(() => loadConfig({ CASE_EXPIRY_ACTION: 'review' })).toThrow(/CASE_EXPIRY_ACTION/);
  });
});

describe('case list and pages', () => {
  const row = (id: string, riskScore: number, amount: number, openedAt: string): CaseSummary => ({
    transactionId: id,
    status: 'open',
    riskScore,
    amount,
    openedAt: new Date(openedAt),
  });
  const rows = [
    row('a', 0.5, 900, '2026-12-07T02:00:00Z'),
    row('b', 0.9, 10, '2026-12-07T01:00:00Z'),
    row('c', 0.7, 5000, '2026-12-07T03:00:00Z'),
  ];

  it('sorts by risk and amount highest first, by age oldest first', () => {
    expect(sortCases(rows, 'risk').map((r) => r.transactionId)).toEqual(['b', 'c', 'a']);
    expect(sortCases(rows, 'amount').map((r) => r.transactionId)).toEqual(['c', 'a', 'b']);
    expect(sortCases(rows, 'age').map((r) => r.transactionId)).toEqual(['b', 'a', 'c']);
  });

  it('escapes what came from the transaction and offers the verdict buttons only while open', () => {
    const html = caseFilePage(openCase());
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).toContain('value="fraud"');
    const closed = caseFilePage({ ...openCase(byAna), final: { ...review, decision: 'decline', stage: 'final' } });
    expect(closed).not.toContain('value="fraud"');
    expect(closed).toContain('Closed: fraud by ana');
    const list = caseListPage(rows, { open: true, sort: 'risk', now: new Date('2026-12-07T04:00:00Z') });
    expect(list).toContain('Open cases (3)');
    expect(list).toContain('(60 min)');
    expect(list).toContain('(3.0 h)');
  });
});
