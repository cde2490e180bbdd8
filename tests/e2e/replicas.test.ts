import { migrationsFolder, openPostgres } from "@canopy/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInstance, statementCounts, within } from "../support/app.ts";
import { type ReplicaPair, startPrimaryWithReplica } from "../support/replica.ts";

type Instance = Awaited<ReturnType<typeof startInstance>>;
const bound = 1000;

describe("read replicas: a real primary and streaming replica", () => {
  let pair: ReplicaPair;
  let api: Instance;

  beforeAll(async () => {
    pair = await startPrimaryWithReplica();
    const db = openPostgres({ url: pair.primaryUrl, poolMax: 1 }, () => {});
    await db.migrate(migrationsFolder);
    await db.close();
    await pair.waitForReplay();
    api = await startInstance({
      DATABASE_URL: pair.primaryUrl,
      DATABASE_REPLICA_URLS: pair.replicaUrl,
      STALENESS_BOUND_MS: String(bound),
    });
    await within(5_000, async () => (await api.get("/readyz", { token: null })).body.degraded?.length === 0);
  });
  afterAll(async () => {
    await api?.close();
    await pair?.stop();
  });

  const reads = async (target: "primary" | "replica") =>
    [...(await statementCounts(api.services))]
      .filter(([k]) => k.startsWith("structures.") && k.endsWith(`@${target}`))
      .reduce((n, [, v]) => n + v, 0);

  it("plain reads go to the replica, writes to the primary, and lag is reported by host:port", async () => {
    const created = await api.post("/v1/structures", { name: "routed" });
    expect(created.status).toBe(201);
    await pair.waitForReplay();
    await within(2_000, async () => {
      const before = await reads("replica");
      await api.get(`/v1/structures/${created.body.id}`);
      return (await reads("replica")) > before;
    });
    const metrics = (await api.get("/metrics", { token: null })).body as string;
    expect(metrics).toContain(`canopy_replica_lag_seconds{replica="${pair.replicaHostPort}"}`);
    expect(metrics).not.toMatch(/replica="[^"]*@/);
  });

  it("a read with minRevision reflects the write at once, whichever server answers", async () => {
    const created = await api.post("/v1/structures", { name: "min-rev" });
    const renamed = await api.patch(`/v1/structures/${created.body.id}`, { name: "renamed" });
    const read = await api.get(`/v1/structures/${created.body.id}?minRevision=${renamed.body.revision}`);
    expect(read.body.name).toBe("renamed");
  });

  it("with replay paused, the replica leaves rotation and reads reflect writes within the bound", async () => {
    const created = await api.post("/v1/structures", { name: "before-pause" });
    await pair.waitForReplay();
    await pair.pauseReplay();
    try {
      const renamed = await api.patch(`/v1/structures/${created.body.id}`, { name: "after-pause" });
      expect(renamed.status).toBe(200);
      await within(
        bound,
        async () => (await api.get(`/v1/structures/${created.body.id}`)).body.name === "after-pause",
      );
      await new Promise((r) => setTimeout(r, bound));
      for (let i = 0; i < 10; i++) {
        expect((await api.get(`/v1/structures/${created.body.id}`)).body.name).toBe("after-pause");
      }
      const ready = await api.get("/readyz", { token: null });
      expect(ready.status).toBe(200);
      expect(ready.body.degraded).toContain(`replica ${pair.replicaHostPort}`);
    } finally {
      await pair.resumeReplay();
    }
    await within(5_000, async () => (await api.get("/readyz", { token: null })).body.degraded?.length === 0);
  });

  it("with the replica stopped, reads fall back to the primary without errors and it returns by itself", async () => {
    const created = await api.post("/v1/structures", { name: "replica-down" });
    await pair.stopReplica();
    try {
      for (let i = 0; i < 10; i++) {
        const res = await api.get(`/v1/structures/${created.body.id}`);
        expect(res.status).toBe(200);
      }
      await within(5_000, async () =>
        (await api.get("/readyz", { token: null })).body.degraded?.includes(
          `replica ${pair.replicaHostPort}`,
        ),
      );
    } finally {
      await pair.startReplica();
    }
    await within(10_000, async () => (await api.get("/readyz", { token: null })).body.degraded?.length === 0);
    const before = await reads("replica");
    await within(3_000, async () => {
      await api.get(`/v1/structures/${created.body.id}`);
      return (await reads("replica")) > before;
    });
  });
});
