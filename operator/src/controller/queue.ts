/**
 * A work queue of object keys: a key is processed by one worker at a time, added again while it
 * runs means once more afterwards, failures back off exponentially, and every key comes back
 * after at most `resyncMs` (level-based: a missed event is repaired by the next pass).
 */
export type QueueOptions = {
  workers: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  resyncMs: number;
};

export type Handler = (key: string) => Promise<{ requeueAfterMs?: number }>;
export type FailureHandler = (key: string, err: unknown, retryInMs: number) => void;

export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private active = 0;
  private stopped = false;

  constructor(
    private readonly options: QueueOptions,
    private readonly handle: Handler,
    private readonly onFailure: FailureHandler,
  ) {}

  /** Enqueues now, or after `delayMs` (an earlier request wins over a later one). */
  add(key: string, delayMs = 0) {
    if (this.stopped) return;
    if (delayMs > 0) {
      if (this.timers.has(key)) return;
      const t = setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, delayMs);
      t.unref();
      this.timers.set(key, t);
      return;
    }
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.ready.push(key);
    this.pump();
  }

  stop() {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private pump() {
    while (!this.stopped && this.active < this.options.workers && this.ready.length > 0) {
      const key = this.ready.shift() as string;
      this.queued.delete(key);
      this.running.add(key);
      this.active++;
      void this.work(key);
    }
  }

  private async work(key: string) {
    let delay = this.options.resyncMs;
    try {
      const r = await this.handle(key);
      this.failures.delete(key);
      if (r.requeueAfterMs !== undefined) delay = Math.min(delay, r.requeueAfterMs);
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      delay = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** (n - 1));
      this.onFailure(key, err, delay);
    } finally {
      this.running.delete(key);
      this.active--;
    }
    if (this.dirty.delete(key) && !this.failures.has(key)) this.add(key);
    else this.add(key, delay);
    this.pump();
  }
}
