import { type KubernetesObject, KubernetesObjectApi, PatchStrategy, Watch } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtIn, canopy } from "./resources.ts";
import { FakeApiServer } from "./server.ts";

/** The fake API server, driven by the real client library, behaves as the API server does where the operator depends on it. */
describe("fake Kubernetes API server", () => {
  const api = new FakeApiServer([...builtIn, ...canopy]);
  let client: KubernetesObjectApi;
  const deployment = (spec: object, labels: Record<string, string> = {}) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "t", labels },
    spec,
  });
  const apply = (obj: object, manager: string, force = false) =>
    client.patch(
      obj as KubernetesObject,
      undefined,
      undefined,
      manager,
      force,
      PatchStrategy.ServerSideApply,
    );
  const read = () =>
    client.read({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "t" } });

  beforeAll(async () => {
    await api.start();
    client = KubernetesObjectApi.makeApiClient(api.kubeConfig());
  });
  afterAll(() => api.stop());

  it("server-side apply creates, and a repeated apply changes nothing (same resourceVersion)", async () => {
    const created = await apply(deployment({ replicas: 2, paused: false }), "alice");
    expect(created.metadata?.generation).toBe(1);
    const again = await apply(deployment({ replicas: 2, paused: false }), "alice");
    expect(again.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    expect(
      api.requests.some((r) =>
        r.startsWith("PATCH /apis/apps/v1/namespaces/t/deployments/web application/apply-patch+yaml"),
      ),
    ).toBe(true);
  });

  it("bumps the generation on spec changes only, and resourceVersion on every change", async () => {
    const before = await read();
    const labelled = await apply(deployment({ replicas: 2, paused: false }, { tier: "web" }), "alice");
    expect(labelled.metadata?.generation).toBe(before.metadata?.generation);
    expect(Number(labelled.metadata?.resourceVersion)).toBeGreaterThan(
      Number(before.metadata?.resourceVersion),
    );
    const changed = await apply(deployment({ replicas: 3, paused: false }, { tier: "web" }), "alice");
    expect(changed.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 1);
  });

  it("answers 409 when another manager owns a field with another value, unless forced", async () => {
    await expect(apply(deployment({ replicas: 5 }), "bob")).rejects.toMatchObject({ code: 409 });
    const forced = await apply(deployment({ replicas: 5 }), "bob", true);
    expect((forced as { spec: { replicas: number } }).spec.replicas).toBe(5);
    expect(api.store.owners(api.resource("apps/v1", "Deployment"), "t", "web", ["spec", "replicas"])).toEqual(
      ["bob"],
    );
  });

  it("drops a field its only manager stops applying, and keeps one another manager owns", async () => {
    const after = (await apply(deployment({}, { tier: "web" }), "alice")) as {
      spec: Record<string, unknown>;
    };
    expect(after.spec).not.toHaveProperty("paused");
    expect(after.spec.replicas).toBe(5);
  });

  it("refuses a replace with a stale resourceVersion (409)", async () => {
    const current = await read();
    await client.replace({ ...current, metadata: { ...current.metadata, labels: { tier: "a" } } });
    await expect(
      client.replace({ ...current, metadata: { ...current.metadata, labels: { tier: "b" } } }),
    ).rejects.toMatchObject({ code: 409 });
  });

  it("streams watch events after a resourceVersion", async () => {
    const from = (await read()).metadata?.resourceVersion;
    const seen: string[] = [];
    const watch = new Watch(api.kubeConfig());
    const ctl = await watch.watch(
      "/apis/apps/v1/namespaces/t/deployments",
      { resourceVersion: from },
      (type, obj) => seen.push(`${type} ${obj.metadata.name}`),
      () => {},
    );
    await apply({ ...deployment({ replicas: 1 }), metadata: { name: "api", namespace: "t" } }, "alice");
    await client.delete({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "t" },
    });
    await expect.poll(() => seen).toEqual(["ADDED api", "DELETED api"]);
    ctl.abort();
  });

  it("keeps status out of main-resource writes and spec out of status writes", async () => {
    const res = api.resource("apps/v1", "Deployment");
    await apply({ ...deployment({ replicas: 5 }), status: { replicas: 99 } }, "bob", true);
    expect(api.store.get(res, "t", "web")?.status).toBeUndefined();
    api.store.replace(res, "t", "web", { status: { replicas: 5 }, spec: { replicas: 1 } }, "kcm", "status");
    expect(api.store.get(res, "t", "web")).toMatchObject({ spec: { replicas: 5 }, status: { replicas: 5 } });
  });

  it("deletes dependents through their ownerReferences", async () => {
    const owner = await apply(
      {
        apiVersion: "canopy.dev/v1alpha1",
        kind: "CanopyCluster",
        metadata: { name: "o", namespace: "t" },
        spec: { version: "1" },
      },
      "alice",
    );
    const ownerReferences = [
      {
        apiVersion: "canopy.dev/v1alpha1",
        kind: "CanopyCluster",
        name: "o",
        uid: owner.metadata?.uid,
        controller: true,
      },
    ];
    await apply(
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "child", namespace: "t", ownerReferences },
        spec: { ports: [{ port: 80 }] },
      },
      "alice",
    );
    await client.delete(owner);
    expect(api.store.get(api.resource("v1", "Service"), "t", "child")).toBeUndefined();
  });
});
