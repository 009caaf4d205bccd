/**
 * What one decision costs the Temporal server's history store: the events and bytes of a sample of closed
 * workflows, read back from the server as it keeps them (payloads as the codec left them, encrypted or not), per
 * scoring path. Bytes are the encoded protobuf history, the unit the server's history size limits count in.
 */
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';

export interface HistoryFootprint {
  /** Workflows read back. */
  sampled: number;
  meanBytes: number;
  meanEvents: number;
  /** The same per scoring path (streaming) or per kind of workflow (bare). */
  byKind: Record<string, { sampled: number; meanBytes: number; meanEvents: number }>;
  /** Mean bytes of the start payload (the workflow's input), the part settings and the event make up. */
  meanInputBytes: number;
  /** Mean bytes of every payload in the history, input and result included. */
  meanPayloadBytes: number;
}

export interface ClosedExecution {
  workflowId: string;
  runId?: string;
  kind: string;
}

/** Reads up to `sample` of `executions` (spread evenly over them) and sums their histories. */
export async function historyFootprint(
  client: Client,
  executions: ClosedExecution[],
  sample = 100,
): Promise<HistoryFootprint | undefined> {
  if (executions.length === 0) return undefined;
  const step = Math.max(1, Math.floor(executions.length / sample));
  const chosen = executions.filter((_, i) => i % step === 0).slice(0, sample);
  const read = await Promise.all(chosen.map(async (e) => ({ kind: e.kind, ...(await measure(client, e)) })));
  const byKind: HistoryFootprint['byKind'] = {};
  for (const kind of new Set(read.map((r) => r.kind))) {
    const of = read.filter((r) => r.kind === kind);
    byKind[kind] = {
      sampled: of.length,
      meanBytes: mean(of.map((r) => r.bytes)),
      meanEvents: mean(of.map((r) => r.events)),
    };
  }
  return {
    sampled: read.length,
    meanBytes: mean(read.map((r) => r.bytes)),
    meanEvents: mean(read.map((r) => r.events)),
    byKind,
    meanInputBytes: mean(read.map((r) => r.inputBytes)),
    meanPayloadBytes: mean(read.map((r) => r.payloadBytes)),
  };
}

async function measure(client: Client, e: ClosedExecution) {
  const history = await client.workflow.getHandle(e.workflowId, e.runId).fetchHistory();
  const events = history.events ?? [];
  const started = events[0]?.workflowExecutionStartedEventAttributes?.input;
  return {
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
    events: events.length,
    inputBytes: started ? temporal.api.common.v1.Payloads.encode(started).finish().length : 0,
    payloadBytes: events.reduce((sum, ev) => sum + payloadBytesOf(ev), 0),
  };
}

/** Every payload an event carries: activity inputs and results, markers, the workflow's input and result. */
function payloadBytesOf(event: temporal.api.history.v1.IHistoryEvent): number {
  const payloadLists = [
    event.workflowExecutionStartedEventAttributes?.input,
    event.workflowExecutionCompletedEventAttributes?.result,
    event.activityTaskScheduledEventAttributes?.input,
    event.activityTaskCompletedEventAttributes?.result,
    ...Object.values(event.markerRecordedEventAttributes?.details ?? {}),
    event.startChildWorkflowExecutionInitiatedEventAttributes?.input,
  ];
  return payloadLists.reduce((sum, p) => sum + (p ? temporal.api.common.v1.Payloads.encode(p).finish().length : 0), 0);
}

const mean = (xs: number[]) => (xs.length === 0 ? 0 : Math.round(xs.reduce((a, b) => a + b, 0) / xs.length));

/** One line per kind, for the report's notes. */
export function describeFootprint(f: HistoryFootprint | undefined): string {
  if (!f) return '';
  const kinds = Object.entries(f.byKind)
    .map(([k, v]) => `${k} ${(v.meanBytes / 1024).toFixed(1)} KB/${v.meanEvents} ev (${v.sampled})`)
    .join(', ');
  return (
    `history ${(f.meanBytes / 1024).toFixed(2)} KB and ${f.meanEvents} events per workflow over ${f.sampled} ` +
    `(input ${(f.meanInputBytes / 1024).toFixed(2)} KB, payloads ${(f.meanPayloadBytes / 1024).toFixed(2)} KB; ${kinds})`
  );
}
