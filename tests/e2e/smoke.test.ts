import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, buildTree, startTestApp, type TestApp } from "../support/app.ts";

describe.each(backends)("on %s", (backend) => {
  let api: TestApp;
  beforeAll(async () => {
    api = await startTestApp(backend);
  });
  afterAll(() => api.close());

  it("answers a check through a grant on an ancestor", async () => {
    const ids = await buildTree(api, { root: null, child: "root" });
    const user = await api.post("/v1/users", { email: "a@x.test", name: "A", structureId: ids.root });
    expect(user.status).toBe(201);
    const grant = await api.post("/v1/permissions", {
      userId: user.body.id,
      structureId: ids.root,
      role: "editor",
    });
    expect(grant.status).toBe(201);
    const check = await api.get(`/v1/check?userId=${user.body.id}&structureId=${ids.child}&action=write`);
    expect(check.body).toMatchObject({ allowed: true, role: "editor", grantedAt: ids.root });
  });
});
