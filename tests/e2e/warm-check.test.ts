import { createFullApp, signToken, withWarmChecks } from "@canopy/api";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTree, startTestApp, testSecret } from "../support/app.ts";

/**
 * The warm path of GET /v1/check, in front of the real app. The full app is wrapped so the test
 * sees which requests reached it: a warm check must not, and must answer exactly as it would.
 */
describe("the warm path for checks", () => {
  let api: Awaited<ReturnType<typeof startTestApp>>;
  let app: ReturnType<typeof withWarmChecks>;
  const reached: string[] = [];
  const ids = { user: "", structure: "", child: "", grant: "", stranger: "" };

  const check = (query: string, headers: Record<string, string> = {}, token = api.tokens.read) =>
    app.request(`/v1/check?${query}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  /** The answer, and whether the full app had to give it. */
  async function checked(query: string, headers: Record<string, string> = {}, token?: string) {
    const before = reached.length;
    const res = await check(query, headers, token);
    return { res, body: await res.text(), full: reached.length > before };
  }
  const pair = (structure = ids.child, user = ids.user) =>
    `userId=${user}&structureId=${structure}&action=write`;
  /** Every header but the request id, which differs per request. */
  const headersOf = (res: Response) =>
    Object.fromEntries([...res.headers].filter(([name]) => name !== "x-request-id"));

  beforeAll(async () => {
    api = await startTestApp("postgres");
    const full = createFullApp(api.services);
    const spy = new Hono().all("*", (c) => {
      reached.push(`${c.req.method} ${c.req.path}`);
      return full.fetch(c.req.raw, c.env);
    });
    app = withWarmChecks(spy as unknown as Parameters<typeof withWarmChecks>[0], api.services, 100);
    const tree = await buildTree(api, { root: null, team: "root" });
    const person = async (name: string) =>
      (await api.post("/v1/users", { email: `${name}@warm.test`, name, structureId: tree.root })).body.id;
    const user = await person("ann");
    const grant = await api.post("/v1/permissions", { userId: user, structureId: tree.root, role: "editor" });
    expect(grant.status).toBe(201);
    Object.assign(ids, {
      user,
      structure: tree.root,
      child: tree.team,
      grant: grant.body.id,
      stranger: await person("bob"),
    });
  });
  afterAll(() => api?.close());

  it("answers a check whose token, user and structure are known without the full app, as the full app did", async () => {
    const cold = await checked(pair());
    expect(cold.full).toBe(true);
    expect(cold.res.status).toBe(200);
    expect(JSON.parse(cold.body)).toMatchObject({ allowed: true, role: "editor", grantedAt: ids.structure });

    const warm = await checked(pair());
    expect(warm.full).toBe(false);
    expect(warm.res.status).toBe(200);
    expect(warm.body).toBe(cold.body);
    expect(headersOf(warm.res)).toEqual(headersOf(cold.res));
    expect(warm.res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("keeps the caller's request id and answers If-None-Match with 304", async () => {
    const first = await checked(pair(), { "x-request-id": "caller-id-1" });
    expect(first.full).toBe(false);
    expect(first.res.headers.get("x-request-id")).toBe("caller-id-1");
    const etag = first.res.headers.get("etag") as string;
    const again = await checked(pair(), { "if-none-match": etag });
    expect(again.full).toBe(false);
    expect(again.res.status).toBe(304);
    expect(again.res.headers.get("etag")).toBe(etag);
  });

  it("leaves to the full app what it cannot answer from memory, which gives its usual answer", async () => {
    const unseenToken = await signToken(testSecret, { scope: "canopy:read", subject: "new-caller" });
    const cases: [string, ReturnType<typeof checked>, number][] = [
      ["a token not verified before", checked(pair(), {}, unseenToken), 200],
      ["a token without the read scope", checked(pair(), {}, api.tokens.none), 403],
      ["a malformed query", checked(`userId=${ids.user}&structureId=${ids.child}&action=fly`), 400],
      ["a repeated parameter", checked(`${pair()}&userId=${ids.user}`), 400],
      ["an unknown user", checked(pair(ids.child, "999999")), 404],
      ["a user not cached yet", checked(pair(ids.child, ids.stranger)), 200],
      ["a revision beyond the latest", checked(`${pair()}&minRevision=999999`), 400],
    ];
    for (const [what, answer, status] of cases) {
      const { res, full } = await answer;
      expect({ what, full, status: res.status }).toEqual({ what, full: true, status });
    }
    // Verified once by the full app, the new token is known: its next check is warm.
    expect((await checked(pair(), {}, unseenToken)).full).toBe(false);
  });

  it("serves no revoked grant: a write invalidates the entries, and the next check reads through", async () => {
    expect(JSON.parse((await checked(pair())).body).allowed).toBe(true);
    expect((await api.delete(`/v1/permissions/${ids.grant}`)).status).toBe(204);
    const after = await checked(pair());
    expect(after.full).toBe(true);
    expect(JSON.parse(after.body)).toMatchObject({ allowed: false, role: null });
    const warm = await checked(pair());
    expect(warm.full).toBe(false);
    expect(warm.body).toBe(after.body);
  });

  it("counts warm checks under the route pattern, with their cache hits", async () => {
    const metric = async (name: string, labels: Record<string, string>) => {
      const found = api.services.metrics.registry.getSingleMetric(name);
      if (!found) throw new Error(`no metric ${name}`);
      const { values } = await found.get();
      const match = values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x));
      return match?.value ?? 0;
    };
    const requests = { method: "GET", route: "/v1/check", status: "200" };
    const hits = { cache: "permissions", layer: "l1", result: "hit" };
    const before = {
      requests: await metric("http_requests_total", requests),
      hits: await metric("canopy_cache_requests_total", hits),
    };
    for (let i = 0; i < 3; i++) expect((await checked(pair())).full).toBe(false);
    expect(await metric("http_requests_total", requests)).toBe(before.requests + 3);
    expect(await metric("canopy_cache_requests_total", hits)).toBe(before.hits + 3);
  });
});
