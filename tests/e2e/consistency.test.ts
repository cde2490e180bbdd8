import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInstance, startTestApp, type TestApp } from "../support/app.ts";

describe("revisions, consistency and concurrency on postgres", () => {
  let api: TestApp;
  let other: Awaited<ReturnType<typeof startInstance>>;
  let sql: pg.Pool;
  const otherGet = (path: string, headers: Record<string, string> = {}) =>
    other.app.request(path, { headers: { authorization: `Bearer ${api.tokens.admin}`, ...headers } });
  const otherSend = (method: string, path: string, body: unknown) =>
    other.app.request(path, {
      method,
      headers: { authorization: `Bearer ${api.tokens.admin}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    api = await startTestApp("postgres");
    // A second API instance over the same database, as another replica of the deployment would be.
    other = await startInstance({ DATABASE_URL: api.databaseUrl as string });
    sql = new pg.Pool({ connectionString: api.databaseUrl });
  });
  afterAll(async () => {
    await sql.end();
    await other.close();
    await api.close();
  });

  it("every write commits a new revision and reads report one that reflects it", async () => {
    const a = await api.post("/v1/structures", { name: "rev-a" });
    const b = await api.post("/v1/structures", { name: "rev-b" });
    expect(BigInt(b.body.revision)).toBe(BigInt(a.body.revision) + 1n);
    const read = await api.get(`/v1/structures/${b.body.id}`);
    expect(BigInt(read.headers.get("canopy-revision") ?? "0")).toBeGreaterThanOrEqual(
      BigInt(b.body.revision),
    );
    const future = (BigInt(b.body.revision) + 1000n).toString();
    expect((await api.get(`/v1/structures/${b.body.id}?minRevision=${future}`)).status).toBe(400);
    expect(
      (await api.get(`/v1/structures/${b.body.id}`, { headers: { "canopy-min-revision": future } })).status,
    ).toBe(400);
    expect((await api.get(`/v1/structures/${b.body.id}?minRevision=${b.body.revision}`)).status).toBe(200);
  });

  it("writes on two instances at once get distinct revisions in commit order, and minRevision reads on either reflect them", async () => {
    const root = await api.post("/v1/structures", { name: "race-root" });
    const start = BigInt(root.body.revision);
    // Once a write with revision R has returned, every revision below R must be committed.
    const committedUpTo = async (revision: string) => {
      const { rows } = await sql.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM canopy_change_log WHERE revision > $1 AND revision <= $2",
        [start.toString(), revision],
      );
      return BigInt(rows[0]?.n ?? "0") === BigInt(revision) - start;
    };
    const writes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const revision =
          i % 2 === 0
            ? (await api.post("/v1/structures", { name: `n${i}`, parentId: root.body.id })).body.revision
            : (
                (await (
                  await otherSend("POST", "/v1/structures", { name: `n${i}`, parentId: root.body.id })
                ).json()) as {
                  revision: string;
                }
              ).revision;
        expect(await committedUpTo(revision)).toBe(true);
        return revision as string;
      }),
    );
    expect(new Set(writes).size).toBe(20);
    expect(writes.map(BigInt).sort((x, y) => Number(x - y))).toEqual(
      Array.from({ length: 20 }, (_, i) => start + BigInt(i + 1)),
    );
    const highest = writes.reduce((m, r) => (BigInt(r) > BigInt(m) ? r : m));
    for (const read of [
      await otherGet(`/v1/structures/${root.body.id}/descendants?minRevision=${highest}&limit=100`),
      await api.app.request(`/v1/structures/${root.body.id}/descendants?limit=100`, {
        headers: { authorization: `Bearer ${api.tokens.admin}`, "canopy-min-revision": highest },
      }),
    ]) {
      expect(read.status).toBe(200);
      expect(((await read.json()) as { items: unknown[] }).items).toHaveLength(20);
    }
  });

  it("a revoke on one instance is denied at once on the other with minRevision", async () => {
    const s = await api.post("/v1/structures", { name: "revoke" });
    const u = await api.post("/v1/users", { email: "revoke@c.test", name: "R", structureId: s.body.id });
    const g = await otherSend("POST", "/v1/permissions", {
      userId: u.body.id,
      structureId: s.body.id,
      role: "admin",
    });
    const grant = (await g.json()) as { id: string };
    const revoke = await api.delete(`/v1/permissions/${grant.id}`);
    const revision = revoke.headers.get("canopy-revision") as string;
    const checked = await otherGet(
      `/v1/check?userId=${u.body.id}&structureId=${s.body.id}&action=read&minRevision=${revision}`,
    );
    expect(await checked.json()).toMatchObject({ allowed: false, role: null });
  });

  it("two racing moves that would together form a cycle: one wins, the other is refused, the tree stays a tree", async () => {
    for (let round = 0; round < 5; round++) {
      const root = await api.post("/v1/structures", { name: `cyc${round}` });
      const a = await api.post("/v1/structures", { name: "a", parentId: root.body.id });
      const b = await api.post("/v1/structures", { name: "b", parentId: root.body.id });
      const [one, two] = await Promise.all([
        api.patch(`/v1/structures/${a.body.id}`, { parentId: b.body.id }),
        otherSend("PATCH", `/v1/structures/${b.body.id}`, { parentId: a.body.id }),
      ]);
      expect([one.status, two.status].sort()).toEqual([200, 409]);
    }
    await expectConsistentPaths(sql);
  });

  it("concurrent moves, creations and grants across instances leave every path equal to its parent chain", async () => {
    const root = await api.post("/v1/structures", { name: "churn" });
    const nodes: string[] = [root.body.id];
    for (let i = 0; i < 12; i++) {
      const parent = nodes[Math.floor(i / 2)] as string;
      nodes.push((await api.post("/v1/structures", { name: `c${i}`, parentId: parent })).body.id);
    }
    const u = await api.post("/v1/users", { email: "churn@c.test", name: "C", structureId: root.body.id });
    const ops = Array.from({ length: 40 }, (_, i) => {
      const pick = () => nodes[1 + ((i * 7 + Math.floor(i / 3)) % (nodes.length - 1))] as string;
      const target = nodes[(i * 5) % nodes.length] as string;
      if (i % 4 === 0) return otherSend("POST", "/v1/structures", { name: `new${i}`, parentId: pick() });
      if (i % 4 === 1)
        return api.post("/v1/permissions", { userId: u.body.id, structureId: pick(), role: "viewer" });
      if (i % 4 === 2) return otherSend("PATCH", `/v1/structures/${pick()}`, { parentId: target });
      return api.patch(`/v1/structures/${pick()}`, { parentId: target });
    });
    const statuses = (await Promise.all(ops)).map((r) => r.status);
    expect(statuses.every((s) => [200, 201, 409].includes(s))).toBe(true);
    await expectConsistentPaths(sql);
  });
});

/** Every path is its parent's path plus its own id, and depth follows: no stale path survives. */
async function expectConsistentPaths(sql: pg.Pool) {
  const { rows } = await sql.query(`
    SELECT c.id FROM hierarchy_structures c LEFT JOIN hierarchy_structures p ON p.id = c.parent_id
    WHERE c.path <> coalesce(p.path, '/') || c.id || '/' OR c.depth <> coalesce(p.depth + 1, 0)`);
  expect(rows).toEqual([]);
}
