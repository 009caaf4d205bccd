import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/schemas/decision';
import type { TransactionEventInput } from '../../src/schemas/transaction-event';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import { chromiumArgs, ensureChromium } from '../support/chromium';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';
import { expectReceiptOf } from '../support/receipt';

const screenshotPath = path.join(__dirname, '..', 'artifacts', 'temporal-ui-escalated.png');

/**
 * What an analyst sees in a real browser: the Temporal UI, talking to the stack's codec server, finds the
 * escalated decisions with a visibility query and shows each one's case file decrypted.
 */
describe('Temporal UI', () => {
  let local: HostedTestServer;
  let frontier: HostedTestServer;
  let pipeline: TestPipeline;
  let profileDir: string | undefined;
  let browser: BrowserContext | undefined;

  beforeAll(async () => {
    [local, frontier] = await Promise.all([startHostedTestServer(), startHostedTestServer()]);
    // Score from the merchant name (as the governance tests do): approvals, escalated declines and reviews.
    local.setBehaviour((req) =>
      req.lastUserText.includes('Ambiguous')
        ? { kind: 'answer', riskScore: 0.6, confidence: 0.9 }
        : { kind: 'answer', riskScore: 0.05, confidence: 0.95 },
    );
    frontier.setBehaviour((req) =>
      req.lastUserText.includes('Fraudy')
        ? { kind: 'answer', riskScore: 0.95, confidence: 0.9 }
        : { kind: 'answer', riskScore: 0.5, confidence: 0.9 },
    );
    pipeline = await startTestPipeline({
      name: 'temporal-ui',
      // Through Kafka and the real ingest, so the workflows carry the summary the ingest gives them.
      ingest: true,
      env: { LOCAL_MODEL_BASE_URL: local.baseURL, FRONTIER_KEY: 'f' },
      hostedProviders: [
        {
          name: 'frontier',
          baseURL: frontier.baseURL,
          apiKeyEnv: 'FRONTIER_KEY',
          model: 'frontier-1',
          inputUsdPerMTok: 1,
        },
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await pipeline?.close();
    await Promise.all([local, frontier].map((s) => s?.close()));
  });

  const merchant = (name: string) => ({ id: `m-${name}`, name, mcc: '5732', category: 'electronics', country: 'US' });

  /** Sends the events through Kafka and returns their decisions, in the order of the events. */
  async function scoreThroughKafka(events: TransactionEventInput[]): Promise<Decision[]> {
    await pipeline.send(events.map((e) => ({ key: e.transactionId, value: e })));
    const published = await pipeline.waitForDecisions(events.length);
    return Promise.all(
      events.map(async (e) => {
        const decision = published.find((d) => d.transactionId === e.transactionId);
        if (!decision) throw new Error(`no decision for ${e.transactionId}`);
        // The decision is published just before the workflow completes: wait for the workflow's result too.
        expectReceiptOf(await pipeline.client.workflow.getHandle(decision.workflowId).result(), decision);
        return decision;
      }),
    );
  }

  /** Workflow ids the visibility store returns for a query; polled because visibility is eventually consistent. */
  async function listIds(query: string, until: (ids: string[]) => boolean): Promise<string[]> {
    let ids: string[] = [];
    for (let i = 0; i < 100 && !until(ids); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 300));
      ids = [];
      for await (const wf of pipeline.client.workflow.list({ query })) ids.push(wf.workflowId);
    }
    return ids;
  }

  /** Opens the workflows list filtered by `query` and returns the workflow ids in its rows, reloading until `until`. */
  async function listedInUi(page: Page, query: string, until: (ids: string[]) => boolean): Promise<string[]> {
    const url = `${pipeline.config.temporal.uiUrl}/namespaces/${pipeline.config.temporal.namespace}/workflows?query=${encodeURIComponent(query)}`;
    const rows = page.getByTestId('workflows-summary-configurable-table-row');
    let ids: string[] = [];
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      await page.goto(url);
      // The SPA renders the count once the list request has answered; rows follow in the same render.
      await page.getByTestId('workflow-count').first().waitFor({ timeout: 60_000 });
      await rows
        .first()
        .waitFor({ timeout: 5_000 })
        .catch(() => undefined);
      // Each row links to /namespaces/<ns>/workflows/<workflowId>/<runId>/history.
      const hrefs = await Promise.all(
        (await rows.all()).map((row) => row.locator('a[href*="/workflows/"]').first().getAttribute('href')),
      );
      ids = hrefs.map((href) => decodeURIComponent(href?.split('/workflows/')[1]?.split('/')[0] ?? ''));
      if (until(ids)) break;
      await page.waitForTimeout(1_000);
    }
    return ids;
  }

  it('shows the escalated declines, decrypted by the codec server, to an analyst filtering by search attribute', async () => {
    const executablePath = ensureChromium();

    const [approved, escalatedDecline, escalatedReview] = await scoreThroughKafka([
      sampleTransaction({ transactionId: `t-${randomUUID()}`, merchant: merchant('Plain Shop') }),
      sampleTransaction({ transactionId: `t-${randomUUID()}`, merchant: merchant('Ambiguous Fraudy Store') }),
      sampleTransaction({ transactionId: `t-${randomUUID()}`, merchant: merchant('Ambiguous Corner') }),
    ]);
    expect([approved!.decision, approved!.path]).toEqual(['approve', 'local']);
    expect([escalatedDecline!.decision, escalatedDecline!.path]).toEqual(['decline', 'escalated']);
    expect([escalatedReview!.decision, escalatedReview!.path]).toEqual(['review', 'escalated']);

    const taskQueue = pipeline.settings.taskQueues.orchestration;
    const escalatedQuery = `TaskQueue = '${taskQueue}' AND FraudEscalated = true`;
    // The approval must be indexed too, so its absence from the UI's list is the filter's doing, not lag.
    const scoring = `TaskQueue = '${taskQueue}' AND WorkflowType = 'scoreTransactionWorkflow'`;
    expect(await listIds(`${scoring} AND FraudEscalated = false`, (ids) => ids.length > 0)).toEqual([
      approved!.workflowId,
    ]);

    // On the server the case file is ciphertext: whatever the UI shows in clear went through the codec server.
    const history = await pipeline.client.workflowService.getWorkflowExecutionHistory({
      namespace: pipeline.config.temporal.namespace,
      execution: { workflowId: escalatedDecline!.workflowId },
    });
    const events = history.history?.events ?? [];
    const encoding = (p?: { metadata?: { [k: string]: Uint8Array } | null } | null) =>
      Buffer.from(p?.metadata?.encoding ?? new Uint8Array()).toString('utf8');
    expect(encoding(events[0]?.userMetadata?.summary)).toBe('binary/encrypted');
    const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes);
    expect(encoding(completed?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0])).toBe(
      'binary/encrypted',
    );

    profileDir = mkdtempSync(path.join(tmpdir(), 'fraudflow-chromium-'));
    // A fresh profile per run; Playwright takes the profile directory here rather than as --user-data-dir.
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath,
      args: chromiumArgs,
      viewport: { width: 1600, height: 1000 },
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(60_000);
    const codecCalls: Array<{ url: string; status: number }> = [];
    page.on('response', (res) => {
      if (res.url().startsWith(pipeline.config.codec.serverUrl) && res.request().method() === 'POST') {
        codecCalls.push({ url: res.url(), status: res.status() });
      }
    });

    // 1. The workflows list, filtered with the visibility query: the two escalations, never the approval.
    const escalatedIds = [escalatedDecline!.workflowId, escalatedReview!.workflowId].sort();
    const listed = await listedInUi(page, escalatedQuery, (ids) => ids.length >= 2);
    expect([...listed].sort()).toEqual(escalatedIds);
    expect(listed).not.toContain(approved!.workflowId);
    // The UI counts with a query of its own, answered after the list: it reads 0 until that answer arrives.
    await expect
      .poll(() => page.getByTestId('workflow-count').first().innerText(), { timeout: 30_000, interval: 500 })
      .toBe('2');

    // 2. The escalated decline, opened from its row: the result panel shows the decision decoded to JSON.
    await page
      .getByTestId('workflows-summary-configurable-table-row')
      .getByRole('link', { name: escalatedDecline!.workflowId, exact: true })
      .first()
      .click();
    await expect
      .poll(() => page.getByTestId('workflow-id-heading').innerText(), { timeout: 60_000 })
      .toContain(escalatedDecline!.workflowId);
    const result = page.getByTestId('input-and-result').locator('div:has(> h2:text-is("Result")) [role="textbox"]');
    await expect.poll(() => result.innerText(), { timeout: 60_000 }).toContain('"decision": "decline"');
    const resultText = await result.innerText();
    expect(resultText).toContain(`"transactionId": "${escalatedDecline!.transactionId}"`);
    expect(resultText).toContain('"path": "escalated"');
    await page.getByTestId('data-encoder-status-success').first().waitFor({ state: 'attached' });

    // 3. User Metadata: the ingest's summary names the transaction, the current details hold the timeline.
    await page.getByTestId('user-metadata-tab').click();
    const summary = page
      .locator('div:has(> div > h3[data-testid="user-metadata-summary-heading"]:text-is("Summary")) iframe')
      .contentFrame()
      .locator('body');
    const details = page
      .locator('div:has(> div > div > h3:text-is("Current Details")) iframe')
      .contentFrame()
      .locator('body');
    await expect
      .poll(() => summary.innerText(), { timeout: 60_000 })
      .toBe(`${escalatedDecline!.transactionId}: 42.50 USD at Ambiguous Fraudy Store (MCC 5732)`);
    // Current details come from a query answered by the pipeline's worker, so they may take a moment.
    await expect
      .poll(() => details.innerText(), { timeout: 60_000 })
      .toBe('local: 0.60 (confidence 0.90) → escalate → frontier: 0.95 → DECLINE');

    // Every decode the UI asked for succeeded, and there were some.
    expect(codecCalls.length).toBeGreaterThan(0);
    expect(codecCalls.filter((c) => c.status !== 200)).toEqual([]);

    mkdirSync(path.dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });
  }, 300_000);
});
