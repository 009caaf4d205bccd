/**
 * Cases on the real stack: 200 transactions through Kafka and the ingest; every review opens exactly one case; some
 * are resolved with `fraudflow cases resolve` (the CLI process), some by the case desk the CLI uses, some in the case
 * console in a real headless Chromium; the case worker (a process of its own) is killed mid-case and restarted; the
 * rest expire on a short CASE_SLA. Every case ends exactly once: its final decision on the decisions topic, and for
 * an analyst's verdict its label on the labels topic.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseConsole } from '../../src/cases/console';
import { startCaseConsole } from '../../src/cases/console';
import { listCases, readCase, resolveCase } from '../../src/cases/desk';
import { CaseNotFoundError, CaseVerdictRefusedError } from '../../src/errors';
import { Decision } from '../../src/schemas/decision';
import { Label } from '../../src/schemas/label';
import type { TransactionEventInput } from '../../src/schemas/transaction-event';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import { caseWorkflowId } from '../../src/workflow-ids';
import { chromiumArgs, ensureChromium } from '../support/chromium';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';

const repoRoot = path.join(__dirname, '..', '..');
const screenshotPath = path.join(repoRoot, 'test', 'artifacts', 'case-console.png');
const transactions = 200;
/** Long enough to resolve a dozen cases by hand and restart a worker; short enough to watch the rest expire. */
const caseSlaSeconds = 150;

/** What the test did to each case, to check against what the topics say. */
type Expected = { by: 'analyst'; verdict: 'fraud' | 'legitimate'; analyst: string } | { by: 'expiry' };

describe('cases', () => {
  let local: HostedTestServer;
  let pipeline: TestPipeline;
  let caseWorker: ChildProcess | undefined;
  let caseConsole: CaseConsole | undefined;
  let browser: BrowserContext | undefined;
  let profileDir: string | undefined;
  const events: TransactionEventInput[] = [];
  let reviewed: string[] = [];
  const expected = new Map<string, Expected>();

  /** `fraudflow <args>` as a process on this pipeline's task queues and topics. */
  const cliEnv = () => ({
    ...process.env,
    TASK_QUEUE_PREFIX: pipeline.taskQueuePrefix,
    TOPIC_DECISIONS: pipeline.topics.decisions,
    TOPIC_LABELS: pipeline.topics.labels,
    METRICS_PORT: '0',
    SDK_METRICS_PORT: '0',
  });
  const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
  const cli = (args: string[]) =>
    spawnSync(tsx, ['src/cli/main.ts', ...args], { cwd: repoRoot, env: cliEnv(), encoding: 'utf8', timeout: 90_000 });

  /** Starts `fraudflow worker cases` in a process group of its own; resolves once it polls. */
  async function startCaseWorker(): Promise<ChildProcess> {
    const child = spawn(tsx, ['src/cli/main.ts', 'worker', 'cases'], {
      cwd: repoRoot,
      env: { ...cliEnv(), LOG_LEVEL: 'info' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`case worker did not start:\n${output}`)), 120_000);
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('fraudflow worker polling')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', read);
      child.stderr?.on('data', read);
      child.once('exit', (code) => reject(new Error(`case worker exited (${code}):\n${output}`)));
    });
    return child;
  }

  /** Kills the case worker we started (its whole process group: tsx and the node it runs), as a crash would. */
  async function killCaseWorker(): Promise<void> {
    const child = caseWorker;
    if (!child?.pid || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid, 'SIGKILL');
    await exited;
  }

  beforeAll(async () => {
    local = await startHostedTestServer();
    // Scripted first pass: the "Held" merchant scores 0.78 (above the escalation band, below decline: review).
    local.setBehaviour((req) =>
      req.lastUserText.includes('Held Goods')
        ? { kind: 'answer', riskScore: 0.78, confidence: 0.9 }
        : { kind: 'answer', riskScore: 0.05, confidence: 0.95 },
    );
    pipeline = await startTestPipeline({
      name: 'cases',
      ingest: true,
      caseWorker: false,
      env: {
        LOCAL_MODEL_BASE_URL: local.baseURL,
        HOSTED_ESCALATION_ENABLED: 'false',
        CASE_SLA: `${caseSlaSeconds}s`,
        CASE_EXPIRY_ACTION: 'decline',
      },
    });
    caseWorker = await startCaseWorker();
  });

  afterAll(async () => {
    await browser?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await caseConsole?.close();
    await killCaseWorker();
    await pipeline?.close();
    await local?.close();
  });

  it('opens exactly one case per review of 200 transactions sent through Kafka', async () => {
    for (let i = 0; i < transactions; i++) {
      const held = i % 8 === 3;
      const name = held ? 'Held Goods' : 'Corner Grocery';
      events.push(
        sampleTransaction({
          merchant: { id: `m-${i % 8}`, name, mcc: '5732', category: 'electronics', country: 'US' },
        }),
      );
    }
    await pipeline.send(events.map((e) => ({ key: e.transactionId, value: e })));
    const decisions = (await pipeline.waitForDecisions(transactions, 300_000)).map((d) => Decision.parse(d));
    const reviews = decisions.filter((d) => d.decision === 'review');
    const held = new Set(events.filter((e) => e.merchant.name === 'Held Goods').map((e) => e.transactionId));
    // Every held transaction is reviewed by the first pass. On a loaded machine a transaction can also pass its
    // decision deadline and go to review without a model answer (path fallback): it opens a case like any review.
    const byModel = reviews.filter((d) => held.has(d.transactionId));
    expect(byModel).toHaveLength(held.size);
    for (const d of byModel) expect(d.path).toBe('local');
    for (const d of reviews.filter((x) => !held.has(x.transactionId))) expect(d.path).toBe('fallback');
    // The first-pass reviews first: the CLI, desk and console steps below work those.
    reviewed = [
      ...byModel.map((d) => d.transactionId).sort(),
      ...reviews
        .filter((d) => !held.has(d.transactionId))
        .map((d) => d.transactionId)
        .sort(),
    ];
    for (const d of reviews) expect(d.stage).toBe('provisional');
    for (const d of decisions.filter((x) => x.decision !== 'review')) expect(d.stage).toBeUndefined();

    await expect
      .poll(async () => (await listCases(pipeline.client, { taskQueue: pipeline.settings.taskQueues.cases })).length, {
        timeout: 60_000,
        interval: 1000,
      })
      .toBe(reviewed.length);
    const listed = await listCases(pipeline.client, { taskQueue: pipeline.settings.taskQueues.cases, open: true });
    expect(listed.map((c) => c.transactionId).sort()).toEqual([...reviewed].sort());
    for (const c of listed.filter((x) => held.has(x.transactionId))) expect(c.riskScore).toBeCloseTo(0.78, 5);
    // An approved transaction has no case.
    const approved = decisions.find((d) => d.decision === 'approve');
    expect(approved).toBeDefined();
    await expect(readCase(pipeline.client, approved!.transactionId, 'unused')).rejects.toBeInstanceOf(
      CaseNotFoundError,
    );
    // The scoring workflows ended: open cases are not running scoring workflows (the ingest's bound counts those).
    const running = await pipeline.client.workflow.count(
      `WorkflowType = 'scoreTransactionWorkflow' AND TaskQueue = '${pipeline.settings.taskQueues.orchestration}' AND ExecutionStatus = 'Running'`,
    );
    expect(running.count).toBe(0);
  }, 420_000);

  it('resolves cases with `fraudflow cases resolve`: idempotent when repeated, refused when contradicted', async () => {
    const [first, second] = reviewed;
    const resolved = cli(['cases', 'resolve', first!, 'fraud', '--analyst', 'cli-ana', '--note', 'card reported']);
    expect(resolved.stderr).toBe('');
    expect(resolved.stdout).toContain(`case ${first}: fraud by cli-ana; final decision decline published`);
    expect(resolved.status).toBe(0);
    expected.set(first!, { by: 'analyst', verdict: 'fraud', analyst: 'cli-ana' });

    const repeated = cli(['cases', 'resolve', first!, 'fraud', '--analyst', 'cli-ana', '--note', 'card reported']);
    expect(repeated.status).toBe(0);
    expect(repeated.stdout).toContain('final decision decline');

    const contradicted = cli(['cases', 'resolve', first!, 'legitimate', '--analyst', 'cli-bo']);
    expect(contradicted.status).toBe(1);
    expect(contradicted.stderr).toContain(
      `fraudflow: case for transaction ${first} is closed: resolved fraud by cli-ana`,
    );

    const unknown = cli(['cases', 'resolve', second!, 'maybe', '--analyst', 'cli-ana']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('verdict');

    // The closed case leaves the open list once visibility has the completion (asynchronous on the server).
    await new Promise((r) => setTimeout(r, 2000));
    const list = cli(['cases', 'list', '--open', '--sort', 'risk']);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(`${reviewed.length - 1} case(s)`);
    expect(list.stdout).not.toContain(first!);

    const show = cli(['cases', 'show', second!]);
    expect(show.status).toBe(0);
    expect(show.stdout).toContain(`case ${second}: open`);
    expect(show.stdout).toContain('Held Goods');
    expect(show.stdout).toContain('local local');
  }, 300_000);

  it('resolves cases through the case desk, refusing a verdict meant for another transaction', async () => {
    const mine = reviewed.slice(2, 7);
    for (const [i, transactionId] of mine.entries()) {
      const verdict = i % 2 === 0 ? 'legitimate' : 'fraud';
      const final = await resolveCase(pipeline.client, { transactionId, verdict, analyst: 'desk-ana' });
      expect(final).toMatchObject({
        transactionId,
        stage: 'final',
        decision: verdict === 'fraud' ? 'decline' : 'approve',
      });
      expected.set(transactionId, { by: 'analyst', verdict, analyst: 'desk-ana' });
    }
    // The update's validator sees the transaction in the request: a verdict typed into the wrong case is refused.
    const handle = pipeline.client.workflow.getHandle(caseWorkflowId(reviewed[7]!));
    await expect(
      handle.executeUpdate('resolveCase', {
        args: [{ transactionId: reviewed[8], verdict: 'fraud', analyst: 'desk-ana' }],
      }),
    ).rejects.toThrow();
    await expect(
      resolveCase(pipeline.client, { transactionId: reviewed[2]!, verdict: 'fraud', analyst: 'someone-else' }),
    ).rejects.toBeInstanceOf(CaseVerdictRefusedError);
  }, 120_000);

  it('works cases in the console in a real browser, the analyst on every verdict', async () => {
    caseConsole = await startCaseConsole({
      client: pipeline.client,
      taskQueue: pipeline.settings.taskQueues.cases,
      port: 0,
    });
    const executablePath = ensureChromium();
    profileDir = mkdtempSync(path.join(tmpdir(), 'fraudflow-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath,
      args: chromiumArgs,
      viewport: { width: 1280, height: 900 },
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(30_000);

    const inConsole = reviewed.slice(9, 12);
    for (const [i, transactionId] of inConsole.entries()) {
      await page.goto(`${caseConsole.url}/?open=1&sort=risk`);
      const row = page.locator(`tr[data-transaction="${transactionId}"]`);
      await expect.poll(() => row.count()).toBe(1);
      if (i === 0) {
        mkdirSync(path.dirname(screenshotPath), { recursive: true });
        await page.screenshot({ path: screenshotPath.replace('.png', '-list.png'), fullPage: true });
      }
      await row.getByRole('link').click();
      await page.waitForURL(`**/cases/${transactionId}`);
      expect(await page.locator('h1').innerText()).toContain(`Case ${transactionId}`);
      expect(await page.locator('body').innerText()).toContain('Held Goods');
      await page.getByLabel('Analyst').fill('console-ana');
      await page.getByLabel('Note').fill('called the cardholder');
      const verdict = i === 0 ? 'legitimate' : 'fraud';
      if (i === inConsole.length - 1) {
        await page.screenshot({ path: screenshotPath.replace('.png', '-open.png'), fullPage: true });
      }
      await page.locator(`button[value="${verdict}"]`).click();
      const notice = page.getByRole('status');
      expect(await notice.innerText()).toContain(`resolved ${verdict} by console-ana`);
      expected.set(transactionId, { by: 'analyst', verdict, analyst: 'console-ana' });
    }
    expect(await page.locator('#outcome h2').innerText()).toContain('Closed: fraud by console-ana');
    await page.screenshot({ path: screenshotPath, fullPage: true });

    // A verdict without an analyst is refused by the console and changes nothing.
    const open = reviewed[12]!;
    const anonymous = await fetch(`${caseConsole.url}/cases/${open}/resolve`, {
      method: 'POST',
      body: new URLSearchParams({ verdict: 'fraud', analyst: '' }),
    });
    expect(anonymous.status).toBe(400);
    expect((await readCase(pipeline.client, open, 'unused')).status).toBe('open');
    // Posted from another site: refused.
    const forged = await fetch(`${caseConsole.url}/cases/${open}/resolve`, {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
      body: new URLSearchParams({ verdict: 'fraud', analyst: 'x' }),
    });
    expect(forged.status).toBe(403);
  }, 180_000);

  it('requires a bearer token beyond loopback, and checks it when set', async () => {
    const options = { client: pipeline.client, taskQueue: pipeline.settings.taskQueues.cases, port: 0 };
    await expect(startCaseConsole({ ...options, host: '0.0.0.0' })).rejects.toThrow(/CASE_CONSOLE_TOKEN/);
    const guarded = await startCaseConsole({ ...options, token: 'a-long-console-token' });
    try {
      expect((await fetch(guarded.url)).status).toBe(401);
      const ok = await fetch(guarded.url, { headers: { authorization: 'Bearer a-long-console-token' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('All cases');
    } finally {
      await guarded.close();
    }
  });

  it('loses nothing when the case worker is killed mid-case', async () => {
    await killCaseWorker();
    const [a, b] = reviewed.slice(12, 14);
    // Given while no worker runs: the verdicts wait in Temporal until one polls again.
    const pending = [
      resolveCase(pipeline.client, { transactionId: a!, verdict: 'fraud', analyst: 'night-ana' }),
      resolveCase(pipeline.client, { transactionId: b!, verdict: 'legitimate', analyst: 'night-ana' }),
    ];
    await new Promise((r) => setTimeout(r, 3000));
    caseWorker = await startCaseWorker();
    const [finalA, finalB] = await Promise.all(pending);
    expect(finalA?.decision).toBe('decline');
    expect(finalB?.decision).toBe('approve');
    expected.set(a!, { by: 'analyst', verdict: 'fraud', analyst: 'night-ana' });
    expected.set(b!, { by: 'analyst', verdict: 'legitimate', analyst: 'night-ana' });
  }, 180_000);

  it('expires the rest on the SLA and ends every case exactly once, final decision and label on the topics', async () => {
    for (const id of reviewed) if (!expected.has(id)) expected.set(id, { by: 'expiry' });
    const finals = () => pipeline.decisions.filter((d) => d.stage === 'final');
    // The last cases opened about the same time; they expire CASE_SLA after opening.
    await expect
      .poll(() => new Set(finals().map((d) => d.transactionId)).size, {
        timeout: (caseSlaSeconds + 90) * 1000,
        interval: 2000,
      })
      .toBe(reviewed.length);
    const analystResolved = [...expected.values()].filter((e) => e.by === 'analyst').length;
    await pipeline.waitForLabels(analystResolved);
    await new Promise((r) => setTimeout(r, 2000));

    for (const [transactionId, want] of expected) {
      const copies = finals().filter((d) => d.transactionId === transactionId);
      // At-least-once publishing may repeat a final decision after a crash; every copy is the same decision.
      expect(new Set(copies.map((c) => JSON.stringify(c))).size, transactionId).toBe(1);
      const final = Decision.strict().parse(copies[0]);
      expect(final.workflowId).toBe(caseWorkflowId(transactionId));
      const labels = pipeline.labels.filter((l) => l.transactionId === transactionId).map((l) => Label.parse(l));
      if (want.by === 'expiry') {
        expect(final).toMatchObject({ decision: 'decline', case: { resolvedBy: 'expiry' } });
        expect(labels).toEqual([]);
      } else {
        expect(final.decision).toBe(want.verdict === 'fraud' ? 'decline' : 'approve');
        expect(final.case).toMatchObject({ resolvedBy: 'analyst', verdict: want.verdict, analyst: want.analyst });
        expect(new Set(labels.map((l) => JSON.stringify(l))).size).toBe(1);
        expect(labels[0]).toMatchObject({ outcome: want.verdict, source: 'analyst', reportedBy: want.analyst });
      }
    }
    expect(finals().every((d) => expected.has(d.transactionId))).toBe(true);
    expect([...expected.values()].filter((e) => e.by === 'expiry').length).toBeGreaterThan(5);
    const stillOpen = await listCases(pipeline.client, { taskQueue: pipeline.settings.taskQueues.cases, open: true });
    expect(stillOpen).toEqual([]);
  }, 420_000);
});
