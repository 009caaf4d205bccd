/**
 * A workflow code rollout must never break an open workflow: every history recorded from a release
 * (test/histories, written by `npm run histories:record`) replays against the current workflow code, bundled as the
 * orchestration worker bundles it, with the workers' payload codec. A change that schedules, drops or reorders a
 * command without `patched()` fails here with a non-determinism error. Offline: no Temporal server, no stack.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDataConverter, ENCRYPTED_ENCODING } from '../../src/codec/payload-codec';
import { loadConfig } from '../../src/config';
import { ScoringPath, ScoringReceipt } from '../../src/schemas/decision';
import { installRuntime, workflowBundle } from '../../src/worker-set';
import * as workflows from '../../workflows';
import { historyFromJSON, recordedHistoriesDir } from '../support/history-json';

/** What a recorded file must at least look like before the protobuf reader sees it. */
const HistoryFile = z.object({ events: z.array(z.looseObject({ eventId: z.string(), eventType: z.string() })).min(1) });

interface RecordedHistory {
  /** `<release>-<date>/<name>`, relative to test/histories; the replay's workflow id. */
  name: string;
  text: string;
  history: History;
  workflowType: string;
}

function loadRecordedHistories(): RecordedHistory[] {
  const files = fs.existsSync(recordedHistoriesDir)
    ? fs.readdirSync(recordedHistoriesDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'))
    : [];
  return files.sort().map((file) => {
    const text = fs.readFileSync(path.join(recordedHistoriesDir, file), 'utf8');
    const parsed = HistoryFile.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${file}: not a workflow history:\n${z.prettifyError(parsed.error)}`);
    const history = historyFromJSON(parsed.data);
    const workflowType = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
    return { name: file.replace(/\.json$/, ''), text, history, workflowType };
  });
}

/** The workers' data converter, with a key of its own: recorded payloads are plain, and the codec passes them. */
const dataConverter = createDataConverter({
  activeKeyId: 'history-replay',
  keys: new Map([['history-replay', randomBytes(32)]]),
});

/**
 * What a completed scoring workflow returned, read through the same codec: a receipt (0.4.0 on) or the whole
 * decision (before), both readable as a receipt.
 */
async function recordedDecision(history: History): Promise<ScoringReceipt | undefined> {
  const payload = history.events?.at(-1)?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
  if (!payload) return undefined;
  let payloads = [payload];
  for (const codec of dataConverter.payloadCodecs ?? []) payloads = await codec.decode(payloads);
  const [plain] = payloads;
  if (!plain) return undefined;
  const decision = ScoringReceipt.safeParse(defaultPayloadConverter.fromPayload(plain));
  return decision.success ? decision.data : undefined;
}

/** Every workflow the orchestration worker registers (the id helpers end in `WorkflowId`). */
const exportedWorkflowTypes = Object.entries(workflows)
  .filter(([name, value]) => typeof value === 'function' && name.endsWith('Workflow'))
  .map(([name]) => name)
  .sort();

describe('recorded workflow histories', () => {
  const recorded = loadRecordedHistories();

  it('cover every exported workflow and every scoring path, each of a workflow fraudflow exports', async () => {
    expect(recorded.map((r) => [r.name, exportedWorkflowTypes.includes(r.workflowType)])).toEqual(
      recorded.map((r) => [r.name, true]),
    );
    expect([...new Set(recorded.map((r) => r.workflowType))].sort()).toEqual(exportedWorkflowTypes);
    const scoring = recorded.filter((r) => r.workflowType === 'scoreTransactionWorkflow');
    const paths = await Promise.all(scoring.map(async (r) => (await recordedDecision(r.history))?.path));
    expect([...new Set(paths)].sort()).toEqual([...ScoringPath.options].sort());
  });

  it('hold plain payloads, readable on any machine whatever its codec keys', () => {
    const sealed = Buffer.from(ENCRYPTED_ENCODING).toString('base64');
    expect(recorded.filter((r) => r.text.includes(sealed)).map((r) => r.name)).toEqual([]);
  });

  it('replay against the current workflow code without a non-determinism error', async () => {
    installRuntime(loadConfig(process.env));
    const results = Worker.runReplayHistories(
      { workflowBundle: await workflowBundle(), dataConverter },
      recorded.map((r) => ({ workflowId: r.name, history: r.history })),
    );
    const replayed: string[] = [];
    const failures: string[] = [];
    for await (const result of results) {
      replayed.push(result.workflowId);
      if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed.sort()).toEqual(recorded.map((r) => r.name).sort());
  });
});
