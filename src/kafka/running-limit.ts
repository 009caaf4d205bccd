/**
 * The bound on running scoring workflows. The ingest counts them in Temporal's visibility store (one count query
 * per refresh, whatever the rate) rather than tracking completions itself: the count covers every ingest process
 * of the group, workflows started before a restart, and workflows started by anyone else on the task queue.
 */

export interface RunningLimitOptions {
  /** Running scoring workflows on the task queue (a visibility count). */
  countRunning: () => Promise<number>;
  /** The bound, for all ingest processes together. */
  max: number;
  /** Ingest processes sharing the bound (members of the consumer group); each admits its share of the headroom. */
  sharers: () => number;
  /**
   * Workflow starts per second for all ingest processes together: a burst is admitted at this pace rather than
   * all at once, so the server's store is not handed seconds of work in one go. @default unlimited
   */
  maxStartsPerSecond?: number;
  /** @default 500 */
  refreshMs?: number;
  /**
   * Starts this recent may not be in the visibility count yet (it is updated asynchronously, behind on a loaded
   * server); they are added to it. Each ingest's own recent starts count against its share whether or not the count
   * shows them already, so the window also caps an ingest's start rate at about (bound ÷ members) ÷ (decision
   * latency + window): kept short. @default 1500
   */
  visibilityLagMs?: number;
  onRefresh?: (running: number) => void;
  onHoldChange?: (holding: boolean, running: number) => void;
}

export interface AcquireOptions {
  /** Stop waiting (and admit nothing) once this turns false: the batch is stale, the ingest is stopping. */
  keepWaiting: () => boolean;
  /** Called about every `refreshMs` while waiting (the consumer heartbeats here). */
  whileWaiting: () => Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class RunningWorkflowLimit {
  /** Running workflows at the last successful count; undefined until one succeeds. */
  running: number | undefined;
  private allowance = 0;
  private refreshedAt = 0;
  private refreshing: Promise<void> | undefined;
  private recent: number[] = [];
  private waiters = 0;
  private readonly refreshMs: number;
  private readonly lagMs: number;

  constructor(private readonly opts: RunningLimitOptions) {
    this.refreshMs = opts.refreshMs ?? 500;
    this.lagMs = opts.visibilityLagMs ?? 1500;
  }

  /** Whether some batch is waiting for the bound to free up: the ingest is holding the backlog in Kafka. */
  get holding(): boolean {
    return this.waiters > 0;
  }

  /** Waits until one more workflow may start; false if `keepWaiting` turned false first. */
  async acquire(opts: AcquireOptions): Promise<boolean> {
    let waited = false;
    try {
      for (;;) {
        if (Date.now() - this.refreshedAt >= this.refreshMs) await this.refresh();
        if (this.allowance > 0) {
          this.allowance--;
          this.recent.push(Date.now());
          return true;
        }
        if (!waited) {
          waited = true;
          if (this.waiters++ === 0) this.opts.onHoldChange?.(true, this.running ?? 0);
        }
        await opts.whileWaiting();
        if (!opts.keepWaiting()) return false;
        await sleep(Math.max(20, this.refreshedAt + this.refreshMs - Date.now()));
      }
    } finally {
      if (waited && --this.waiters === 0) this.opts.onHoldChange?.(false, this.running ?? 0);
    }
  }

  /** Gives back an admission that started nothing (the transaction already had its workflow). */
  refund(): void {
    this.allowance++;
    this.recent.pop();
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.countOnce().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async countOnce(): Promise<void> {
    const now = Date.now();
    try {
      this.running = await this.opts.countRunning();
    } catch {
      // Nothing is admitted while Temporal cannot say how loaded it is; the next refresh tries again.
      this.allowance = 0;
      this.refreshedAt = Date.now();
      return;
    }
    this.recent = this.recent.filter((t) => t > now - this.lagMs);
    this.allowance = admissions({
      max: this.opts.max,
      running: this.running,
      recentStarts: this.recent.length,
      sharers: Math.max(1, this.opts.sharers()),
      perRefreshCap: this.opts.maxStartsPerSecond
        ? (this.opts.maxStartsPerSecond * this.refreshMs) / 1000
        : Number.POSITIVE_INFINITY,
    });
    this.refreshedAt = Date.now();
    this.opts.onRefresh?.(this.running);
  }
}

/**
 * How many starts one ingest may admit until its next refresh. Each ingest owns 1/sharers of the headroom and
 * takes off its own recent starts, which the count may not show yet; the other ingests' recent starts are not
 * visible here, so each ingest keeps to its share rather than to the whole headroom. The rate cap is split the same
 * way, and is at least one start per refresh.
 */
export function admissions(a: {
  max: number;
  running: number;
  recentStarts: number;
  sharers: number;
  perRefreshCap: number;
}): number {
  const headroom = a.max - a.running;
  const share = Math.floor(headroom / a.sharers) - a.recentStarts;
  const cap = Math.max(1, Math.floor(a.perRefreshCap / a.sharers));
  // A bound smaller than the number of ingests still lets one workflow through once nothing runs.
  if (share <= 0) return headroom > 0 && a.running === 0 && a.recentStarts === 0 ? 1 : 0;
  return Math.min(share, cap);
}
