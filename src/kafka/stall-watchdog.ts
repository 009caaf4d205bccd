/**
 * Detects a consumer that stopped receiving: its partitions have lag, yet no batch has reached the ingest for
 * `timeoutMs` and none is being worked on (a batch held back by the running-workflow bound is work, not a stall).
 * kafkajs can end up there after a broker restart while its group stays Stable; the remedy is a new consumer.
 */
import type { Admin } from 'kafkajs';

export interface StallWatchdogOptions {
  admin: Admin;
  groupId: string;
  topic: string;
  timeoutMs: number;
  /** Partitions assigned to this consumer at its last group join; undefined until it has joined. */
  assignedPartitions: () => number[] | undefined;
  /** When a batch last started or finished, or the consumer was (re)started (ms since the epoch). */
  lastActivity: () => number;
  /** The next offset this ingest will read on a partition, when it knows one ahead of the committed offset. */
  nextOffset?: (partition: number) => number | undefined;
  /** A batch is being processed (or held) right now. */
  busy: () => boolean;
  /** Lag per assigned partition at each check. */
  onLag?: (lag: Map<number, number>) => void;
  /** Replaces the consumer. */
  restart: (why: string) => Promise<void>;
  /** @default min(timeoutMs / 4, 5000) */
  checkEveryMs?: number;
}

const within = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms))]);

/**
 * Lag (high watermark minus the committed offset, or the offset already consumed when that is further: offsets
 * are committed at an interval) of the group on each of `partitions`.
 */
export async function partitionLag(
  admin: Admin,
  groupId: string,
  topic: string,
  partitions?: number[],
  nextOffset?: (partition: number) => number | undefined,
): Promise<Map<number, number>> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const done = new Map<number, number>();
  for (const p of committed.find((t) => t.topic === topic)?.partitions ?? []) done.set(p.partition, Number(p.offset));
  const lag = new Map<number, number>();
  for (const end of ends) {
    if (partitions && !partitions.includes(end.partition)) continue;
    const committed = done.get(end.partition) ?? -1;
    // No committed offset yet: everything from the log start is still to read.
    const from = Math.max(committed >= 0 ? committed : Number(end.low), nextOffset?.(end.partition) ?? 0);
    lag.set(end.partition, Math.max(0, Number(end.high) - from));
  }
  return lag;
}

export function startStallWatchdog(opts: StallWatchdogOptions): { stop(): void } {
  const every = opts.checkEveryMs ?? Math.min(opts.timeoutMs / 4, 5000);
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      const assigned = opts.assignedPartitions();
      // Never joined: every partition of the topic counts, a consumer stuck joining is stalled too.
      const lag = await within(partitionLag(opts.admin, opts.groupId, opts.topic, assigned, opts.nextOffset), 10_000);
      opts.onLag?.(lag);
      const behind = [...lag.values()].reduce((a, b) => a + b, 0);
      const idleMs = Date.now() - opts.lastActivity();
      if (behind > 0 && idleMs >= opts.timeoutMs && !opts.busy()) {
        await opts.restart(`nothing fetched for ${Math.round(idleMs / 1000)} s with ${behind} messages of lag`);
      }
    } catch {
      // The broker cannot answer (restarting): no lag to judge by; the next check tries again.
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(() => void check(), every);
  return { stop: () => clearInterval(timer) };
}
