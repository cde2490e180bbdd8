import { databaseIdentity, redisNamespace, seedSynthetic } from "@canopy/api";
import { Cluster } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInstance, within } from "../support/app.ts";
import { createTestDatabase } from "../support/database.ts";
import { type RedisCluster, startRedisCluster } from "../support/redis.ts";

type Instance = Awaited<ReturnType<typeof startInstance>>;
const bound = 1000;

/** Deterministic Zipf-like sampler over 0..n-1: rank r is drawn with weight 1/(r+1). */
function zipf(n: number, seed: number) {
  const weights = Array.from({ length: n }, (_, r) => 1 / (r + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) {
    acc += w / total;
    cumulative.push(acc);
  }
  let state = seed >>> 0;
  const random = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return () => {
    const x = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

describe("a Redis Cluster behind two instances, and the hit ratio of a skewed workload", () => {
  let cluster: RedisCluster;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: Instance;
  let b: Instance;
  let sql: pg.Pool;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    database = await createTestDatabase();
    sql = new pg.Pool({ connectionString: database.url, max: 2 });
    await seedSynthetic(sql, { users: 3_000, structures: 400, depth: 6, grants: 4_000, seed: 11 }, () => {});
    const env = {
      DATABASE_URL: database.url,
      REDIS_CLUSTER_NODES: cluster.nodes,
      STALENESS_BOUND_MS: String(bound),
    };
    a = await startInstance(env);
    b = await startInstance(env);
    for (const api of [a, b]) {
      await within(
        10_000,
        async () => (await api.get("/readyz", { token: null })).body.degraded?.length === 0,
      );
    }
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await sql?.end();
    await cluster?.stop();
    await database?.drop();
  });

  it("keys spread over the cluster's slots, and another instance reads them from Redis", async () => {
    const { rows } = await sql.query<{ user_id: string; structure_id: string }>(
      "SELECT user_id::text, structure_id::text FROM permissions ORDER BY id LIMIT 20",
    );
    for (const r of rows)
      await a.get(`/v1/check?userId=${r.user_id}&structureId=${r.structure_id}&action=read`);
    // Instance a writes to Redis in the background: wait until every entry is there, on its slot.
    const ns = redisNamespace(await databaseIdentity(a.services.db.primary));
    const keys = [
      ...new Set([
        ...rows.map((r) => `${ns}:p:${r.user_id}`),
        ...rows.map((r) => `${ns}:h:${r.structure_id}`),
      ]),
    ];
    const redis = new Cluster(cluster.ports.map((port) => ({ host: "127.0.0.1", port })));
    try {
      await within(5_000, async () =>
        (await Promise.all(keys.map((k) => redis.exists(k)))).every((n) => n === 1),
      );
      const slots = await Promise.all(keys.map((k) => redis.call("CLUSTER", "KEYSLOT", k)));
      expect(new Set(slots).size).toBeGreaterThan(1);
    } finally {
      redis.disconnect();
    }
    const l2 = async () =>
      (await b.services.metrics.cacheRequests.get()).values
        .filter((v) => v.labels.layer === "l2" && v.labels.result === "hit")
        .reduce((s, v) => s + v.value, 0);
    const before = await l2();
    for (const r of rows) {
      const res = await b.get(`/v1/check?userId=${r.user_id}&structureId=${r.structure_id}&action=read`);
      expect(res.body.allowed).toBe(true);
    }
    // Each distinct key is read from Redis once (repeats hit b's own L1).
    expect((await l2()) - before).toBe(keys.length);
  });

  it("revokes propagate through the cluster's pub/sub and the change log within the bound", async () => {
    const { rows } = await sql.query<{ id: string; user_id: string; structure_id: string }>(
      "SELECT id::text, user_id::text, structure_id::text FROM permissions ORDER BY id DESC LIMIT 1",
    );
    const g = rows[0];
    if (!g) throw new Error("no grant");
    const check = async () =>
      (await b.get(`/v1/check?userId=${g.user_id}&structureId=${g.structure_id}&action=read`)).body;
    expect((await check()).role).not.toBeNull();
    await a.delete(`/v1/permissions/${g.id}`);
    await within(bound, async () => (await check()).grantedAt !== g.structure_id);
  });

  it("a Zipf-skewed workload of 95% reads and 5% writes keeps the hit ratio above 95%", async () => {
    const { rows: grants } = await sql.query<{ user_id: string; structure_id: string }>(
      "SELECT user_id::text, structure_id::text FROM permissions ORDER BY id LIMIT 2000",
    );
    const { rows: structures } = await sql.query<{ id: string }>(
      "SELECT id::text FROM hierarchy_structures ORDER BY id",
    );
    const pick = zipf(grants.length, 7);
    const pickStructure = zipf(structures.length, 9);
    const instances = [a, b];
    let writes = 0;
    const step = async (i: number) => {
      const api = instances[i % 2] as Instance;
      const g = grants[pick()] as { user_id: string; structure_id: string };
      if (i % 20 === 19) {
        // A write: grant the sampled user another structure (or take it back).
        const target = (structures[pickStructure()] as { id: string }).id;
        const res = await api.post("/v1/permissions", {
          userId: g.user_id,
          structureId: target,
          role: "viewer",
        });
        if (res.status === 409) {
          const existing = await api.get(`/v1/permissions?userId=${g.user_id}&structureId=${target}`);
          await api.delete(`/v1/permissions/${existing.body.items[0].id}`);
        }
        writes++;
        return;
      }
      const res = await api.get(`/v1/check?userId=${g.user_id}&structureId=${g.structure_id}&action=read`);
      expect(res.status).toBe(200);
    };
    const counts = async () => {
      let hit = 0;
      let lookups = 0;
      for (const api of instances) {
        for (const v of (await api.services.metrics.cacheRequests.get()).values) {
          if (v.labels.result === "hit") hit += v.value;
          if (v.labels.layer === "l1") lookups += v.value;
        }
      }
      return { hit, lookups };
    };
    // Steady state: the working set has been read once (the cache holds it all), then traffic runs a while.
    for (const g of grants)
      await a.get(`/v1/check?userId=${g.user_id}&structureId=${g.structure_id}&action=read`);
    for (let i = 0; i < 1_000; i++) await step(i);
    const before = await counts();
    writes = 0;
    for (let i = 0; i < 3_000; i++) await step(i);
    const after = await counts();
    const ratio = (after.hit - before.hit) / (after.lookups - before.lookups);
    expect(writes).toBe(150);
    console.log(`hit ratio over ${after.lookups - before.lookups} look-ups: ${ratio.toFixed(4)}`);
    expect(ratio).toBeGreaterThan(0.95);
  });
});
