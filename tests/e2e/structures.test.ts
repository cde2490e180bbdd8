import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, buildTree, startTestApp, type TestApp } from "../support/app.ts";

const idsOf = (items: { id: string }[]) => items.map((x) => x.id);

describe.each(backends)("structures on %s", (backend) => {
  let api: TestApp;
  beforeAll(async () => {
    api = await startTestApp(backend);
  });
  afterAll(() => api.close());

  it("creates roots and children with depth, parent and timestamps", async () => {
    const root = await api.post("/v1/structures", { name: "Acme", externalId: "acme-1" });
    expect(root.status).toBe(201);
    expect(root.body).toMatchObject({ name: "Acme", parentId: null, externalId: "acme-1", depth: 0 });
    expect(root.body.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(root.headers.get("canopy-revision")).toBe(root.body.revision);
    const child = await api.post("/v1/structures", { name: "  Spaces kept  ", parentId: root.body.id });
    expect(child.body).toMatchObject({
      name: "  Spaces kept  ",
      parentId: root.body.id,
      depth: 1,
      externalId: null,
    });
    const read = await api.get(`/v1/structures/${child.body.id}`);
    expect(read.status).toBe(200);
    const { revision, ...created } = child.body;
    expect(read.body).toEqual(created);
  });

  it("stores names verbatim, refusing text Postgres would alter (U+0000, unpaired surrogates)", async () => {
    const kept = await api.post("/v1/structures", { name: "Zürich 🌲 \t" });
    expect((await api.get(`/v1/structures/${kept.body.id}`)).body.name).toBe("Zürich 🌲 \t");
    for (const name of ["a\u0000b", "\ud800", "x\udc00y"]) {
      expect((await api.post("/v1/structures", { name })).status).toBe(400);
    }
  });

  it("lists all structures, roots only, or the children of one", async () => {
    const ids = await buildTree(api, { r: null, a: "r", b: "r", a1: "a" });
    const children = await api.get(`/v1/structures?parentId=${ids.r}`);
    expect(idsOf(children.body.items)).toEqual([ids.a, ids.b]);
    const roots = await api.get("/v1/structures?parentId=root&limit=1000");
    expect(idsOf(roots.body.items)).toContain(ids.r);
    expect(roots.body.items.every((s: { parentId: string | null }) => s.parentId === null)).toBe(true);
    const all = await api.get("/v1/structures?limit=1000");
    expect(idsOf(all.body.items)).toEqual(expect.arrayContaining(Object.values(ids)));
    const unknownParent = await api.get("/v1/structures?parentId=nope");
    expect(unknownParent.body).toEqual({ items: [], nextCursor: null });
  });

  it("answers ancestors root first and descendants down to maxDepth, itself excluded", async () => {
    const ids = await buildTree(api, { r: null, a: "r", a1: "a", a11: "a1", b: "r" });
    const ancestors = await api.get(`/v1/structures/${ids.a11}/ancestors`);
    expect(idsOf(ancestors.body.items)).toEqual([ids.r, ids.a, ids.a1]);
    const all = await api.get(`/v1/structures/${ids.r}/descendants`);
    expect(idsOf(all.body.items).sort()).toEqual([ids.a, ids.a1, ids.a11, ids.b].sort());
    const children = await api.get(`/v1/structures/${ids.r}/descendants?maxDepth=1`);
    expect(idsOf(children.body.items).sort()).toEqual([ids.a, ids.b].sort());
    const two = await api.get(`/v1/structures/${ids.r}/descendants?maxDepth=2`);
    expect(idsOf(two.body.items).sort()).toEqual([ids.a, ids.a1, ids.b].sort());
    const leaf = await api.get(`/v1/structures/${ids.a11}/descendants`);
    expect(leaf.body.items).toEqual([]);
  });

  it("moves a whole subtree atomically, rewriting depths below it", async () => {
    const ids = await buildTree(api, { r: null, a: "r", a1: "a", a11: "a1", b: "r" });
    const moved = await api.patch(`/v1/structures/${ids.a1}`, { parentId: ids.b });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ parentId: ids.b, depth: 2 });
    const ancestors = await api.get(`/v1/structures/${ids.a11}/ancestors`);
    expect(idsOf(ancestors.body.items)).toEqual([ids.r, ids.b, ids.a1]);
    expect((await api.get(`/v1/structures/${ids.a11}`)).body.depth).toBe(3);
    expect(idsOf((await api.get(`/v1/structures/${ids.a}/descendants`)).body.items)).toEqual([]);

    const toRoot = await api.patch(`/v1/structures/${ids.a1}`, { parentId: null });
    expect(toRoot.body).toMatchObject({ parentId: null, depth: 0 });
    expect((await api.get(`/v1/structures/${ids.a11}`)).body.depth).toBe(1);
    expect(idsOf((await api.get(`/v1/structures/${ids.a11}/ancestors`)).body.items)).toEqual([ids.a1]);
  });

  it("refuses to move a structure under itself or a descendant, changing nothing", async () => {
    const ids = await buildTree(api, { r: null, a: "r", a1: "a" });
    const before = await api.get(`/v1/structures/${ids.a}`);
    for (const target of [ids.a, ids.a1]) {
      const res = await api.patch(`/v1/structures/${ids.a}`, { parentId: target, name: "renamed" });
      expect(res.status).toBe(409);
    }
    const after = await api.get(`/v1/structures/${ids.a}`);
    expect(after.body).toEqual(before.body);
    expect(after.headers.get("canopy-revision")).toBe(before.headers.get("canopy-revision"));
  });

  it("renames and re-keys without moving; an empty patch still commits a revision", async () => {
    const ids = await buildTree(api, { r: null, a: "r" });
    const renamed = await api.patch(`/v1/structures/${ids.a}`, { name: "Alpha", externalId: "alpha-x" });
    expect(renamed.body).toMatchObject({ name: "Alpha", externalId: "alpha-x", parentId: ids.r });
    const cleared = await api.patch(`/v1/structures/${ids.a}`, { externalId: null });
    expect(cleared.body.externalId).toBeNull();
    const empty = await api.patch(`/v1/structures/${ids.a}`, {});
    expect(empty.status).toBe(200);
    expect(BigInt(empty.body.revision)).toBeGreaterThan(BigInt(cleared.body.revision));
  });

  it("deletes a structure only once it has no children, members or grants", async () => {
    const ids = await buildTree(api, { r: null, a: "r" });
    expect((await api.delete(`/v1/structures/${ids.r}`)).status).toBe(409);
    const user = await api.post("/v1/users", { email: "del@x.test", name: "D", structureId: ids.a });
    expect((await api.delete(`/v1/structures/${ids.a}`)).status).toBe(409);
    await api.patch(`/v1/users/${user.body.id}`, { structureId: ids.r });
    const grant = await api.post("/v1/permissions", {
      userId: user.body.id,
      structureId: ids.a,
      role: "viewer",
    });
    expect((await api.delete(`/v1/structures/${ids.a}`)).status).toBe(409);
    await api.delete(`/v1/permissions/${grant.body.id}`);
    const gone = await api.delete(`/v1/structures/${ids.a}`);
    expect(gone.status).toBe(204);
    expect(gone.body).toBeUndefined();
    expect(gone.headers.get("canopy-revision")).toMatch(/^\d+$/);
    expect((await api.get(`/v1/structures/${ids.a}`)).status).toBe(404);
  });

  it("lists members of a structure, or of its whole subtree when recursive", async () => {
    const ids = await buildTree(api, { r: null, a: "r", a1: "a" });
    const mk = async (email: string, at: string) =>
      (await api.post("/v1/users", { email, name: email, structureId: at })).body.id as string;
    const onR = await mk("m-r@x.test", ids.r as string);
    const onA1 = await mk("m-a1@x.test", ids.a1 as string);
    expect(idsOf((await api.get(`/v1/structures/${ids.r}/members`)).body.items)).toEqual([onR]);
    expect(idsOf((await api.get(`/v1/structures/${ids.r}/members?recursive=true`)).body.items)).toEqual([
      onR,
      onA1,
    ]);
    expect(idsOf((await api.get(`/v1/structures/${ids.a}/members?recursive=false`)).body.items)).toEqual([]);
  });
});
