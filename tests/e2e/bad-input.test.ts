import { afterAll, beforeAll, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";

let api: TestApp;
beforeAll(async () => {
  api = await startTestApp("pglite");
});
afterAll(() => api.close());

it("probe", async () => {
  const show = async (label: string, p: Promise<{ status: number; headers: Headers; body: unknown }>) => {
    const r = await p;
    console.log(label, r.status, r.headers.get("content-type"), JSON.stringify(r.body));
  };
  const root = await api.post("/v1/structures", { name: "root" });
  console.log(root.body);
  await show(
    "uppercase ct",
    api.request("POST", "/v1/structures", { name: "x" }, { headers: { "content-type": "Application/JSON" } }),
  );
  await show(
    "quoted charset",
    api.request(
      "POST",
      "/v1/structures",
      { name: "x" },
      { headers: { "content-type": 'application/json; charset="UTF-8"' } },
    ),
  );
  await show(
    "proto",
    api.request("POST", "/v1/structures", undefined, {
      raw: '{"name":"p","__proto__":{"a":1}}',
      headers: { "content-type": "application/json" },
    }),
  );
  await show("unknown", api.post("/v1/structures", { name: "p", color: 1 }));
  await show(
    "empty",
    api.request("POST", "/v1/structures", undefined, {
      raw: "",
      headers: { "content-type": "application/json" },
    }),
  );
  await show("array", api.post("/v1/structures", []));
  await show("null", api.post("/v1/structures", null));
  const deep = "[".repeat(200000) + "]".repeat(200000);
  await show(
    "deep",
    api.request("POST", "/v1/structures", undefined, {
      raw: deep,
      headers: { "content-type": "application/json" },
    }),
  );
  const bad = new Uint8Array([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
  const r = await api.app.request("/v1/structures", {
    method: "POST",
    body: bad,
    headers: { "content-type": "application/json", authorization: `Bearer ${api.tokens.admin}` },
  });
  console.log("latin", r.status, await r.text());
  const n = await api.app.request("/v1/structures", {
    method: "POST",
    body: new TextEncoder().encode('{"name":"q"}'),
    headers: { authorization: `Bearer ${api.tokens.admin}` },
  });
  console.log("no ct", n.status, await n.text());
  await show("get %zz", api.get("/v1/structures/%zz"));
  await show("get %2F", api.get("/v1/structures/%2F/members"));
  await show("get 1e0", api.get("/v1/structures/1e0"));
  await show("limit", api.get("/v1/structures?limit=1.5"));
  await show("minrev", api.get("/v1/structures?minRevision=999"));
  await show("minrev hdr", api.get("/v1/structures", { headers: { "canopy-min-revision": "999" } }));
  await show("batch", api.post("/v1/check/batch", { checks: [] }));
  const big = JSON.stringify({ name: "x".repeat(1024 * 1024) });
  await show(
    "big",
    api.request("POST", "/v1/structures", undefined, {
      raw: big,
      headers: { "content-type": "application/json" },
    }),
  );
  const h = await api.request("POST", "/v1/structures", undefined, {
    raw: big,
    headers: { "content-type": "application/json" },
  });
  console.log([...h.headers.entries()]);
});
