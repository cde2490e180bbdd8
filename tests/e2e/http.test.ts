import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, buildTree, startTestApp, type TestApp } from "../support/app.ts";

describe.each(backends)("HTTP conventions on %s", (backend) => {
  let api: TestApp;
  beforeAll(async () => {
    api = await startTestApp(backend);
  });
  afterAll(() => api.close());

  it("GET answers under /v1 carry an ETag, private no-cache and Vary: Authorization; a matching If-None-Match gets 304", async () => {
    const ids = await buildTree(api, { r: null, a: "r" });
    const first = await api.get(`/v1/structures/${ids.r}/descendants`);
    const etag = first.headers.get("etag") as string;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(first.headers.get("cache-control")).toBe("private, no-cache");
    expect(first.headers.get("vary")).toBe("Authorization");
    const again = await api.get(`/v1/structures/${ids.r}/descendants`, {
      headers: { "if-none-match": etag },
    });
    expect(again.status).toBe(304);
    expect(again.body).toBeUndefined();
    expect(again.headers.get("etag")).toBe(etag);
    expect(again.headers.get("cache-control")).toBe("private, no-cache");
    await api.post("/v1/structures", { name: "b", parentId: ids.r });
    const changed = await api.get(`/v1/structures/${ids.r}/descendants`, {
      headers: { "if-none-match": etag },
    });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
  });

  it("following nextCursor yields every item exactly once, also while rows are written between pages", async () => {
    const ids = await buildTree(api, { r: null });
    const made: string[] = [];
    for (let i = 0; i < 9; i++) {
      made.push(
        (await api.post("/v1/users", { email: `p${i}@h.test`, name: `p${i}`, structureId: ids.r })).body.id,
      );
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const page = await api.get(`/v1/structures/${ids.r}/members?limit=2${query}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((u: { id: string }) => u.id));
      cursor = page.body.nextCursor;
      pages += 1;
      // Writes between pages: a newcomer, and a departure of someone not yet listed.
      if (pages === 2) {
        made.push(
          (await api.post("/v1/users", { email: `late@h.test`, name: "late", structureId: ids.r })).body.id,
        );
        const leaving = made[7] as string;
        await api.delete(`/v1/users/${leaving}`);
      }
    } while (cursor !== null);
    const throughout = made.filter((id) => id !== made[7] && id !== made.at(-1));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(throughout));
    expect(seen).not.toContain(made[7]);
    expect(pages).toBeGreaterThanOrEqual(5);
  });

  it("a full last page ends with a null cursor rather than an empty extra page", async () => {
    const ids = await buildTree(api, { r: null, a: "r", b: "r" });
    const page = await api.get(`/v1/structures/${ids.r}/descendants?limit=2`);
    expect(page.body.items).toHaveLength(2);
    expect(page.body.nextCursor).toBeNull();
  });

  it("X-Request-Id: a caller's plain id is kept and echoed, anything else is replaced by a fresh one", async () => {
    const kept = await api.get("/v1/structures?limit=1", { headers: { "x-request-id": "abc-123" } });
    expect(kept.headers.get("x-request-id")).toBe("abc-123");
    const replaced = await api.get("/v1/structures?limit=1", { headers: { "x-request-id": "bad id;" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("probes and scrape targets answer without a token", async () => {
    expect((await api.get("/healthz", { token: null })).status).toBe(200);
    const ready = await api.get("/readyz", { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: "ok", degraded: [] });
  });

  it("readyz turns 503 once shutdown has begun, while healthz still answers", async () => {
    const accepting = api.services.accepting;
    api.services.accepting = () => false;
    try {
      const ready = await api.get("/readyz", { token: null });
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe("shutting_down");
      expect((await api.get("/healthz", { token: null })).status).toBe(200);
    } finally {
      api.services.accepting = accepting;
    }
  });

  it("the OpenAPI 3.1 document covers every route with bearer security", async () => {
    const doc = (await api.get("/openapi.json", { token: null })).body;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        "POST /v1/structures",
        "GET /v1/structures",
        "GET /v1/structures/{id}",
        "PATCH /v1/structures/{id}",
        "DELETE /v1/structures/{id}",
        "GET /v1/structures/{id}/ancestors",
        "GET /v1/structures/{id}/descendants",
        "GET /v1/structures/{id}/members",
        "GET /v1/structures/{id}/principals",
        "POST /v1/users",
        "GET /v1/users",
        "GET /v1/users/{id}",
        "PATCH /v1/users/{id}",
        "DELETE /v1/users/{id}",
        "GET /v1/users/{id}/structures",
        "GET /v1/users/{id}/visible-users",
        "POST /v1/permissions",
        "GET /v1/permissions",
        "GET /v1/permissions/{id}",
        "PATCH /v1/permissions/{id}",
        "DELETE /v1/permissions/{id}",
        "GET /v1/check",
        "POST /v1/check/batch",
      ].sort(),
    );
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops as Record<string, { security?: unknown }>)) {
        expect(op.security, path).toEqual([{ bearer: [] }]);
      }
    }
  });

  it("metrics expose the HTTP series by route pattern, never by raw path, and named statements", async () => {
    const ids = await buildTree(api, { r: null });
    await api.get(`/v1/structures/${ids.r}`);
    await api.get("/v1/structures/does-not-exist");
    const text = (await api.get("/metrics", { token: null })).body as string;
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/v1\/structures\/:id",status="200"\} \d+/,
    );
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/v1\/structures\/:id",status="404"\} \d+/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/v1\/structures\/:id",status="200"\}/,
    );
    expect(text).not.toContain(`route="/v1/structures/${ids.r}"`);
    expect(text).toMatch(
      /canopy_db_query_duration_seconds_count\{query="structures.get",target="primary"\} \d+/,
    );
    expect(text).toMatch(/canopy_db_pool_connections\{target="primary",state="total"\}/);
    expect(text).toContain("process_cpu_seconds_total");
    for (const name of [
      "canopy_cache_requests_total",
      "canopy_cache_invalidations_total",
      "canopy_db_slow_queries_total",
      "canopy_replica_lag_seconds",
    ]) {
      expect(text).toContain(`# TYPE ${name}`);
    }
  });
});
