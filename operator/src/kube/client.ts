import {
  ApiException,
  CustomObjectsApi,
  type KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { FIELD_MANAGER, GROUP, PLURAL, VERSION } from "../constants.ts";
import type { Kube, KubeObject, Ref } from "./api.ts";

/** KubernetesObjectApi with its discovery lookup made available to ask whether a kind is served. */
class ObjectApi extends KubernetesObjectApi {
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    try {
      return (await this.resource(apiVersion, kind)) !== undefined;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }
}

export const statusOf = (err: unknown): number | undefined =>
  err instanceof ApiException ? err.code : (err as { statusCode?: number; code?: number })?.statusCode;

const header = (ref: Ref) => ({
  apiVersion: ref.apiVersion,
  kind: ref.kind,
  metadata: { name: ref.name, namespace: ref.namespace },
});

/** The Kube interface over @kubernetes/client-node 1.x. */
export function createKube(kc: KubeConfig, fieldManager = FIELD_MANAGER): Kube {
  const objects = kc.makeApiClient(ObjectApi);
  // makeApiClient skips setDefaultNamespace; every object the operator sends names its namespace.
  const custom = kc.makeApiClient(CustomObjectsApi);
  const applyOptions = setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply);
  return {
    async apply(obj) {
      return (await objects.patch(
        obj as KubeObject,
        undefined,
        undefined,
        fieldManager,
        true,
        PatchStrategy.ServerSideApply,
      )) as KubeObject;
    },
    async applyStatus(namespace, name, status) {
      await custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: "CanopyCluster",
            metadata: { name, namespace },
            status,
          },
          fieldManager,
          force: true,
        },
        applyOptions,
      );
    },
    async get(ref) {
      try {
        return (await objects.read(header(ref))) as KubeObject;
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },
    async createIfAbsent(obj) {
      try {
        await objects.create(obj as KubeObject, undefined, undefined, fieldManager);
        return true;
      } catch (err) {
        if (statusOf(err) === 409) return false;
        throw err;
      }
    },
    async delete(ref) {
      try {
        await objects.delete(header(ref), undefined, undefined, undefined, undefined, "Background");
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    },
    serves: (apiVersion, kind) => objects.serves(apiVersion, kind),
  };
}
