import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, buildTree, startTestApp, type TestApp } from "../support/app.ts";

const idsOf = (items: { id: string }[]) => items.map((x) => x.id);

describe.each(backends)("users, grants and checks on %s", (backend) => {
  let api: TestApp;
  let n = 0;
  beforeAll(async () => {
    api = await startTestApp(backend);
  });
  afterAll(() => api.close());

  const user = async (structureId: string) => {
    n += 1;
    const res = await api.post("/v1/users", { email: `user${n}@perm.test`, name: `User ${n}`, structureId });
    if (res.status !== 201) throw new Error(JSON.stringify(res.body));
    return res.body.id as string;
  };
  const grant = async (userId: string, structureId: string, role: string) => {
    const res = await api.post("/v1/permissions", { userId, structureId, role });
    if (res.status !== 201) throw new Error(JSON.stringify(res.body));
    return res.body.id as string;
  };
  const check = async (userId: string, structureId: string, action: string) =>
    (await api.get(`/v1/check?userId=${userId}&structureId=${structureId}&action=${action}`)).body;

  it("creates, reads, updates and deletes users; email is unique regardless of case and stored as given", async () => {
    const ids = await buildTree(api, { r: null, a: "r" });
    const created = await api.post("/v1/users", {
      email: "Mixed.Case@Perm.Test",
      name: "Mixed",
      structureId: ids.r,
      externalId: "emp-1",
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      email: "Mixed.Case@Perm.Test",
      structureId: ids.r,
      externalId: "emp-1",
    });
    const clash = await api.post("/v1/users", {
      email: "mixed.case@perm.test",
      name: "x",
      structureId: ids.r,
    });
    expect(clash.status).toBe(409);
    const moved = await api.patch(`/v1/users/${created.body.id}`, { structureId: ids.a, name: "Moved" });
    expect(moved.body).toMatchObject({ structureId: ids.a, name: "Moved", email: "Mixed.Case@Perm.Test" });
    const byStructure = await api.get(`/v1/users?structureId=${ids.a}`);
    expect(idsOf(byStructure.body.items)).toEqual([created.body.id]);
    expect((await api.delete(`/v1/users/${created.body.id}`)).status).toBe(204);
    expect((await api.get(`/v1/users/${created.body.id}`)).status).toBe(404);
  });

  it("grants apply to the structure and everything below it, and nothing above or beside", async () => {
    const ids = await buildTree(api, { r: null, a: "r", a1: "a", b: "r" });
    const u = await user(ids.r as string);
    await grant(u, ids.a as string, "editor");
    expect(await check(u, ids.a1 as string, "write")).toMatchObject({
      allowed: true,
      role: "editor",
      grantedAt: ids.a,
    });
    expect(await check(u, ids.a1 as string, "manage")).toMatchObject({ allowed: false, role: "editor" });
    expect(await check(u, ids.r as string, "read")).toMatchObject({
      allowed: false,
      role: null,
      grantedAt: null,
    });
    expect(await check(u, ids.b as string, "read")).toMatchObject({ allowed: false, role: null });
  });

  it("the highest role wins, and the nearest grant among equals", async () => {
    const ids = await buildTree(api, { r: null, a: "r", a1: "a", a11: "a1" });
    const u = await user(ids.r as string);
    await grant(u, ids.r as string, "viewer");
    await grant(u, ids.a as string, "admin");
    await grant(u, ids.a1 as string, "admin");
    expect(await check(u, ids.a11 as string, "manage")).toMatchObject({ role: "admin", grantedAt: ids.a1 });
    expect(await check(u, ids.r as string, "read")).toMatchObject({ role: "viewer", grantedAt: ids.r });
  });

  it("role changes and revokes take effect, and a user's grants go with them", async () => {
    const ids = await buildTree(api, { r: null, a: "r" });
    const u = await user(ids.r as string);
    const g = await grant(u, ids.r as string, "viewer");
    expect((await api.post("/v1/permissions", { userId: u, structureId: ids.r, role: "admin" })).status).toBe(
      409,
    );
    const changed = await api.patch(`/v1/permissions/${g}`, { role: "admin" });
    expect(changed.body).toMatchObject({ id: g, role: "admin", userId: u, structureId: ids.r });
    expect((await check(u, ids.a as string, "manage")).allowed).toBe(true);
    expect((await api.delete(`/v1/permissions/${g}`)).status).toBe(204);
    expect((await check(u, ids.a as string, "read")).allowed).toBe(false);
    await grant(u, ids.a as string, "viewer");
    await api.delete(`/v1/users/${u}`);
    expect((await api.get(`/v1/permissions?userId=${u}`)).body.items).toEqual([]);
  });

  it("lists grants by user, by structure, or both", async () => {
    const ids = await buildTree(api, { r: null, a: "r" });
    const u1 = await user(ids.r as string);
    const u2 = await user(ids.r as string);
    const g1 = await grant(u1, ids.r as string, "viewer");
    const g2 = await grant(u1, ids.a as string, "editor");
    const g3 = await grant(u2, ids.a as string, "admin");
    expect(idsOf((await api.get(`/v1/permissions?userId=${u1}`)).body.items)).toEqual([g1, g2]);
    expect(idsOf((await api.get(`/v1/permissions?structureId=${ids.a}`)).body.items)).toEqual([g2, g3]);
    expect(idsOf((await api.get(`/v1/permissions?userId=${u2}&structureId=${ids.a}`)).body.items)).toEqual([
      g3,
    ]);
    expect((await api.get(`/v1/permissions/${g3}`)).body).toMatchObject({ role: "admin", userId: u2 });
  });

  it("visible users are the users of every structure the user may act on, the user included", async () => {
    const ids = await buildTree(api, { r: null, a: "r", a1: "a", b: "r" });
    const boss = await user(ids.a as string);
    const inA1 = await user(ids.a1 as string);
    const inB = await user(ids.b as string);
    const inR = await user(ids.r as string);
    await grant(boss, ids.a as string, "editor");
    await grant(boss, ids.a1 as string, "viewer"); // nested: must not duplicate
    const read = await api.get(`/v1/users/${boss}/visible-users`);
    expect(idsOf(read.body.items)).toEqual([boss, inA1]);
    const manage = await api.get(`/v1/users/${boss}/visible-users?action=manage`);
    expect(manage.body.items).toEqual([]);
    await grant(boss, ids.b as string, "admin");
    const managed = await api.get(`/v1/users/${boss}/visible-users?action=manage`);
    expect(idsOf(managed.body.items)).toEqual([inB]);
    expect(idsOf((await api.get(`/v1/users/${inR}/visible-users`)).body.items)).toEqual([]);
  });

  it("a user's structures are those their effective role meets the action on", async () => {
    const ids = await buildTree(api, { r: null, a: "r", a1: "a", b: "r" });
    const u = await user(ids.r as string);
    await grant(u, ids.a as string, "editor");
    const read = await api.get(`/v1/users/${u}/structures?action=read`);
    expect(idsOf(read.body.items)).toEqual([ids.a, ids.a1]);
    expect((await api.get(`/v1/users/${u}/structures?action=manage`)).body.items).toEqual([]);
  });

  it("principals carry the effective role and where it is granted", async () => {
    const ids = await buildTree(api, { r: null, a: "r", a1: "a" });
    const top = await user(ids.r as string);
    const mid = await user(ids.r as string);
    await grant(top, ids.r as string, "admin");
    await grant(mid, ids.a as string, "viewer");
    await grant(mid, ids.a1 as string, "editor");
    const readers = await api.get(`/v1/structures/${ids.a1}/principals`);
    expect(
      readers.body.items.map((p: { user: { id: string }; role: string; grantedAt: string }) => [
        p.user.id,
        p.role,
        p.grantedAt,
      ]),
    ).toEqual([
      [top, "admin", ids.r],
      [mid, "editor", ids.a1],
    ]);
    const managers = await api.get(`/v1/structures/${ids.a1}/principals?action=manage`);
    expect(managers.body.items.map((p: { user: { id: string } }) => p.user.id)).toEqual([top]);
    const atA = await api.get(`/v1/structures/${ids.a}/principals?action=write`);
    expect(atA.body.items.map((p: { user: { id: string } }) => p.user.id)).toEqual([top]);
  });

  it("batch checks answer in request order, repeats allowed, unknown ids as not_found", async () => {
    const ids = await buildTree(api, { r: null, a: "r" });
    const u = await user(ids.r as string);
    await grant(u, ids.a as string, "viewer");
    const res = await api.post("/v1/check/batch", {
      checks: [
        { userId: u, structureId: ids.a, action: "read" },
        { userId: u, structureId: ids.a, action: "write" },
        { userId: u, structureId: "nope", action: "read" },
        { userId: "999999999", structureId: ids.a, action: "read" },
        { userId: u, structureId: ids.a, action: "read" },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { allowed: true, role: "viewer", grantedAt: ids.a },
      { allowed: false, role: "viewer", grantedAt: ids.a },
      { allowed: false, role: null, grantedAt: null, error: "not_found" },
      { allowed: false, role: null, grantedAt: null, error: "not_found" },
      { allowed: true, role: "viewer", grantedAt: ids.a },
    ]);
    expect(res.body.revision).toBe(res.headers.get("canopy-revision"));
  });

  it("a check names the unknown user or structure with 404", async () => {
    const ids = await buildTree(api, { r: null });
    const u = await user(ids.r as string);
    expect((await api.get(`/v1/check?userId=${u}&structureId=abc&action=read`)).status).toBe(404);
    expect((await api.get(`/v1/check?userId=42424242&structureId=${ids.r}&action=read`)).status).toBe(404);
  });
});
