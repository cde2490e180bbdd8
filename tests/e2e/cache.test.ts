import { databaseIdentity, redisNamespace } from "@canopy/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTree, startInstance, statementCounts, within } from "../support/app.ts";
import { createTestDatabase } from "../support/database.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";

type Instance = Awaited<ReturnType<typeof startInstance>>;
const bound = 1000;

/** Statements a request ran, leaving out the background change-log poll and replica probes. */
async function requestStatements(api: Instance, action: () => Promise<unknown>) {
  const background = (key: string) => key.startsWith("changes.") || key.startsWith("replicas.");
  const total = (m: Map<string, number>) =>
    [...m].filter(([k]) => !background(k)).reduce((n, [, v]) => n + v, 0);
  const before = total(await statementCounts(api.services));
  await action();
  return total(await statementCounts(api.services)) - before;
}

/** Two API instances sharing a database of their own and a Redis of the test's own, for one describe block. */
function twoInstances() {
  const setup = {} as { a: Instance; b: Instance; redis: RedisServer; env: Record<string, string> };
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    setup.redis = await startRedis();
    setup.env = { DATABASE_URL: database.url, REDIS_URL: setup.redis.url, STALENESS_BOUND_MS: String(bound) };
    setup.a = await startInstance(setup.env);
    setup.b = await startInstance(setup.env);
    for (const api of [setup.a, setup.b]) {
      await within(
        10_000,
        async () => (await api.get("/readyz", { token: null })).body.degraded?.length === 0,
      );
    }
  });
  afterAll(async () => {
    await setup.a?.close();
    await setup.b?.close();
    await setup.redis?.stop();
    await database?.drop();
  });
  return setup;
}

describe("the cache across two instances sharing Postgres and Redis", () => {
  const setup = twoInstances();
  let a: Instance;
  let b: Instance;
  let n = 0;
  beforeAll(() => {
    ({ a, b } = setup);
  });

  /** A user holding a grant on a fresh structure, and the check that reads it. */
  async function granted(role = "editor") {
    n += 1;
    const ids = await buildTree(a, { [`root${n}`]: null, [`leaf${n}`]: `root${n}` });
    const root = ids[`root${n}`] as string;
    const leaf = ids[`leaf${n}`] as string;
    const user = (await a.post("/v1/users", { email: `c${n}@cache.test`, name: "C", structureId: root })).body
      .id;
    const grant = (await a.post("/v1/permissions", { userId: user, structureId: root, role })).body;
    const check = (api: Instance, extra = "") =>
      api.get(`/v1/check?userId=${user}&structureId=${leaf}&action=read${extra}`).then((r) => r.body);
    return { root, leaf, user, grant, check };
  }

  it("a warm check makes no database round trip", async () => {
    const { check } = await granted();
    expect((await check(b)).allowed).toBe(true);
    const statements = await requestStatements(b, async () => expect((await check(b)).allowed).toBe(true));
    expect(statements).toBe(0);
  });

  it("concurrent misses for one key are computed once per instance", async () => {
    const { check } = await granted();
    const counts = async () => (await statementCounts(b.services)).get("check.inputs@primary") ?? 0;
    const before = await counts();
    const answers = await Promise.all(Array.from({ length: 25 }, () => check(b)));
    expect(answers.every((x) => x.allowed)).toBe(true);
    expect((await counts()) - before).toBe(1);
  });

  it("a revoke on one instance is denied on the other within the bound", async () => {
    const { grant, check } = await granted();
    expect((await check(b)).allowed).toBe(true);
    await a.delete(`/v1/permissions/${grant.id}`);
    const elapsed = await within(bound, async () => !(await check(b)).allowed);
    expect(elapsed).toBeLessThan(bound);
  });

  it("with minRevision, both instances deny at once after a revoke", async () => {
    const { grant, check } = await granted();
    expect((await check(a)).allowed).toBe(true);
    expect((await check(b)).allowed).toBe(true);
    const revoked = await a.delete(`/v1/permissions/${grant.id}`);
    const revision = revoked.headers.get("canopy-revision");
    expect((await check(b, `&minRevision=${revision}`)).allowed).toBe(false);
    expect((await check(a, `&minRevision=${revision}`)).allowed).toBe(false);
  });

  it("visible users, user structures and principals on the other instance follow within the bound", async () => {
    const { root, user, grant } = await granted("admin");
    const lists = async () => [
      (await b.get(`/v1/users/${user}/visible-users`)).body.items.length,
      (await b.get(`/v1/users/${user}/structures`)).body.items.length,
      (await b.get(`/v1/structures/${root}/principals`)).body.items.length,
    ];
    expect(await lists()).toEqual([1, 2, 1]);
    await a.delete(`/v1/permissions/${grant.id}`);
    await within(bound, async () => (await lists()).every((x) => x === 0));
  });

  it("moving a subtree invalidates the checks below it, and leaves unrelated entries in place", async () => {
    const one = await granted();
    const other = await granted();
    await one.check(b);
    await other.check(b);
    const elsewhere = (await a.post("/v1/structures", { name: "elsewhere" })).body.id;
    const moved = await a.patch(`/v1/structures/${one.leaf}`, { parentId: elsewhere });
    await within(bound, async () => !(await one.check(b)).allowed);
    expect(moved.status).toBe(200);
    // The unrelated user's check is still served without the database.
    expect(await requestStatements(b, () => other.check(b))).toBe(0);
  });

  it("cached list pages: warm ones run no statement, unrelated writes keep them, related writes show within the bound", async () => {
    const { root, user } = await granted("admin");
    const visible = (api: Instance) =>
      api.get(`/v1/users/${user}/visible-users`).then((r) => r.body.items.map((x: { id: string }) => x.id));
    const principals = (api: Instance) =>
      api
        .get(`/v1/structures/${root}/principals`)
        .then((r) => r.body.items.map((x: { user: { name: string } }) => x.user.name));
    expect(await visible(b)).toEqual([user]);
    expect(await principals(b)).toEqual(["C"]);
    expect(await requestStatements(b, () => visible(b))).toBe(0);
    await granted(); // elsewhere in the tree
    await within(bound, async () => (await requestStatements(b, () => visible(b))) === 0);
    // A newcomer inside the granted subtree, and a rename of a listed user.
    const newcomer = (
      await a.post("/v1/users", { email: `new${n}@cache.test`, name: "N", structureId: root })
    ).body.id;
    await a.patch(`/v1/users/${user}`, { name: "Renamed" });
    await within(bound, async () => (await visible(b)).includes(newcomer));
    await within(bound, async () => (await principals(b)).includes("Renamed"));
  });

  it("entries written by another instance are served from Redis", async () => {
    const { check, user, leaf } = await granted();
    await check(a);
    // Instance a writes to Redis in the background: wait until both entries are there.
    const ns = redisNamespace(await databaseIdentity(a.services.db.primary));
    const keys = [`${ns}:p:${user}`, `${ns}:h:${leaf}`];
    await within(5_000, async () => (await setup.redis.command("EXISTS", ...keys)) === 2);
    const l2Hits = async () =>
      (await b.services.metrics.cacheRequests.get()).values
        .filter((v) => v.labels.layer === "l2" && v.labels.result === "hit")
        .reduce((s, v) => s + v.value, 0);
    const before = await l2Hits();
    expect((await check(b)).allowed).toBe(true);
    expect((await l2Hits()) - before).toBe(2);
  });
});

describe("Redis faults", () => {
  const setup = twoInstances();
  let a: Instance;
  let b: Instance;
  let redis: RedisServer;
  beforeAll(() => {
    ({ a, b, redis } = setup);
  });

  async function subject(name: string) {
    const ids = await buildTree(a, { [name]: null });
    const structure = ids[name] as string;
    const user = (await a.post("/v1/users", { email: `${name}@fault.test`, name, structureId: structure }))
      .body.id;
    const grant = (await a.post("/v1/permissions", { userId: user, structureId: structure, role: "viewer" }))
      .body;
    const check = (api: Instance) =>
      api.get(`/v1/check?userId=${user}&structureId=${structure}&action=read`).then((r) => {
        expect(r.status).toBe(200);
        return r.body.allowed as boolean;
      });
    return { grant, check };
  }

  it("Redis stopped during traffic: no 5xx, correct answers, readyz degraded, and back to Redis by itself", async () => {
    const { grant, check } = await subject("stopped");
    expect(await check(b)).toBe(true);
    await redis.stop();
    const started = performance.now();
    await within(5_000, async () =>
      (await b.get("/readyz", { token: null })).body.degraded?.includes("redis"),
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(await check(b)).toBe(true);
    await a.delete(`/v1/permissions/${grant.id}`);
    await within(bound, async () => !(await check(b)));
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) expect(await check(a)).toBe(false);
    // A down Redis never holds a request: twenty checks take far less than 20 x 250 ms.
    expect(performance.now() - t0).toBeLessThan(2_000);
    await redis.start();
    await within(10_000, async () => (await b.get("/readyz", { token: null })).body.degraded?.length === 0);
  });

  it("Redis paused during a revoke, then resumed holding the old entries: nothing stale is served", async () => {
    const { grant, check } = await subject("paused");
    expect(await check(b)).toBe(true); // now in b's L1 and in Redis
    redis.pause();
    try {
      const revoked = await a.delete(`/v1/permissions/${grant.id}`);
      expect(revoked.status).toBe(204);
      await within(bound, async () => !(await check(b)));
    } finally {
      redis.resume();
    }
    // A new instance with an empty L1 finds the pre-revoke entry in Redis and must refuse it.
    const c = await startInstance(setup.env);
    try {
      expect(await check(c)).toBe(false);
    } finally {
      await c.close();
    }
  });

  it("Redis restarted empty: answers stay correct and the cache fills again", async () => {
    const { check } = await subject("restarted");
    expect(await check(b)).toBe(true);
    await redis.stop();
    await redis.start();
    expect(await check(a)).toBe(true);
    expect(await check(b)).toBe(true);
  });
});

describe("one Redis, two databases", () => {
  it("each database reads only its own entries, though their ids are the same", async () => {
    const redis = await startRedis();
    const databases = [await createTestDatabase(), await createTestDatabase()];
    const [a, b] = await Promise.all(
      databases.map((d) => startInstance({ DATABASE_URL: d.url, REDIS_URL: redis.url })),
    );
    try {
      // The same ids in both; only database a grants the user anything.
      const shape = async (api: Instance) => {
        const { root } = await buildTree(api, { root: null });
        const user = (await api.post("/v1/users", { email: "same@two.test", name: "S", structureId: root }))
          .body.id;
        return { root, user };
      };
      const [inA, inB] = [await shape(a as Instance), await shape(b as Instance)];
      expect(inB).toEqual(inA);
      expect(
        (
          await (a as Instance).post("/v1/permissions", {
            userId: inA.user,
            structureId: inA.root,
            role: "admin",
          })
        ).status,
      ).toBe(201);
      const check = (api: Instance) =>
        api
          .get(`/v1/check?userId=${inA.user}&structureId=${inA.root}&action=manage`)
          .then((r) => r.body.allowed);
      expect(await check(a as Instance)).toBe(true);
      // a's entries reach Redis under its own namespace; b's check misses them and reads its own database.
      const ns = redisNamespace(await databaseIdentity((a as Instance).services.db.primary));
      await within(5_000, async () => (await redis.command("EXISTS", `${ns}:p:${inA.user}`)) === 1);
      expect(await check(b as Instance)).toBe(false);
      expect(redisNamespace(await databaseIdentity((b as Instance).services.db.primary))).not.toBe(ns);
    } finally {
      await a?.close();
      await b?.close();
      await redis.stop();
      for (const d of databases) await d.drop();
    }
  });
});
