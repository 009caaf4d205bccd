/**
 * The wall time a report's throughput is measured over. The replay workflow continues as new every few dozen chunks,
 * so its latest run's start is not the replay's: the figure spans the command that started the replay, from its
 * start to its report, or else the whole chain of workflow runs.
 */
import type { MeasuredOver } from './schema';

export interface ReplayTimes {
  /** When this replay command started (ISO 8601); undefined for `report <id>`. */
  commandStartedAt?: string;
  /** The replay workflow's first run's start, and its last run's close (undefined while it runs). */
  replayStartedAt: string;
  replayClosedAt?: string;
  /** When the report is written. */
  now: string;
  /** The timing of the report saved before this one, if any. */
  saved?: { measuredOver: MeasuredOver; startedAt: string; finishedAt: string };
}

export interface ReportTiming {
  measuredOver: MeasuredOver;
  startedAt: string;
  finishedAt: string;
}

/**
 * The command's wall time when this command started the replay; else the saved report's, when the command that
 * started this replay wrote it (a finished replay re-run, or `report <id>`); else the workflow chain's.
 */
export function reportTiming(times: ReplayTimes): ReportTiming {
  const replayStart = Date.parse(times.replayStartedAt);
  const { commandStartedAt, saved } = times;
  if (commandStartedAt !== undefined && Date.parse(commandStartedAt) <= replayStart) {
    return { measuredOver: 'command', startedAt: commandStartedAt, finishedAt: times.now };
  }
  if (saved?.measuredOver === 'command' && Date.parse(saved.startedAt) <= replayStart) {
    return { measuredOver: 'command', startedAt: saved.startedAt, finishedAt: saved.finishedAt };
  }
  return { measuredOver: 'replay', startedAt: times.replayStartedAt, finishedAt: times.replayClosedAt ?? times.now };
}

/** Where a progress rate counts from, so that it ends at the report's figure: the earlier of the two starts. */
export function rateOrigin(commandStartedAt: string, replayStartedAt: string): number {
  return Math.min(Date.parse(commandStartedAt), Date.parse(replayStartedAt));
}
