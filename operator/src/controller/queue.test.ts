import { describe, expect, it } from "vitest";
import { WorkQueue } from "./queue.ts";

const options = { workers: 2, backoffBaseMs: 20, backoffMaxMs: 80, resyncMs: 60_000 };

describe("work queue", () => {
  it("runs a key once at a time, and once more when it was added while running", async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const q = new WorkQueue(
      options,
      async () => {
        running++;
        runs++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return {};
      },
      () => {},
    );
    q.add("a");
    q.add("a");
    await new Promise((r) => setTimeout(r, 5));
    q.add("a");
    q.add("a");
    await expect.poll(() => runs).toBe(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(runs).toBe(2);
    expect(maxRunning).toBe(1);
    q.stop();
  });

  it("backs off exponentially on failure, up to the maximum, and resets on success", async () => {
    const delays: number[] = [];
    let calls = 0;
    const q = new WorkQueue(
      options,
      async () => {
        calls++;
        if (calls <= 4) throw new Error("boom");
        return {};
      },
      (_key, _err, retryInMs) => delays.push(retryInMs),
    );
    q.add("a");
    await expect.poll(() => calls, { timeout: 2_000 }).toBe(5);
    expect(delays).toEqual([20, 40, 80, 80]);
    q.stop();
  });

  it("requeues after what the handler asks, at most the resync period", async () => {
    let calls = 0;
    const q = new WorkQueue(
      { ...options, resyncMs: 30 },
      async () => {
        calls++;
        return { requeueAfterMs: 10_000 };
      },
      () => {},
    );
    q.add("a");
    await expect.poll(() => calls, { timeout: 1_000 }).toBeGreaterThanOrEqual(3);
    q.stop();
  });
});
