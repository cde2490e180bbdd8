/** A Kubernetes object as the operator reads and writes it. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
  // biome-ignore lint/suspicious/noExplicitAny: children are many kinds; each step reads the fields it needs
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  status?: any;
  [key: string]: unknown;
};

export type Ref = { apiVersion: string; kind: string; namespace: string; name: string };

/** The operator's only door to the API server: thin I/O, so reconcile steps stay testable. */
export interface Kube {
  /** Server-side apply under the operator's field manager (forced: the operator owns what it sets). */
  apply(obj: object): Promise<KubeObject>;
  /** Server-side apply of the status subresource of a CanopyCluster. */
  applyStatus(namespace: string, name: string, status: object): Promise<void>;
  get(ref: Ref): Promise<KubeObject | undefined>;
  /** Creates; false when it exists already. */
  createIfAbsent(obj: object): Promise<boolean>;
  /** Deletes; no error when it is already gone. */
  delete(ref: Ref): Promise<void>;
  /** Whether the API server serves a kind (e.g. monitoring.coreos.com/v1 ServiceMonitor). */
  serves(apiVersion: string, kind: string): Promise<boolean>;
}
