import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  deepEqual,
  deletePath,
  display,
  fieldsV1,
  getPath,
  isMap,
  key,
  leaves,
  type Obj,
  overlaps,
  type Path,
  setPath,
  unkey,
  within,
} from "./fields.ts";
import { apiVersionOf, type Resource } from "./resources.ts";

export type Stored = Obj & {
  apiVersion: string;
  kind: string;
  metadata: Obj & {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    generation: number;
  };
};

export type WatchEvent = {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: Stored;
  rv: number;
  resource: Resource;
};

/** An error the server answers as a Kubernetes Status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

type Ownership = { operation: "Apply" | "Update"; fields: Set<string> };

/**
 * The fake API server's state: objects, a global resourceVersion, an event log for watches,
 * field ownership per manager for server-side apply, generation bumps on spec changes, and
 * garbage collection of dependents through ownerReferences.
 */
export class Store {
  private rv = 0;
  private readonly objects = new Map<string, Stored>();
  private readonly managers = new Map<string, Map<string, Ownership>>();
  readonly log: WatchEvent[] = [];
  readonly events = new EventEmitter();

  constructor() {
    this.events.setMaxListeners(0);
  }

  get resourceVersion() {
    return String(this.rv);
  }

  private id(res: Resource, namespace: string | undefined, name: string) {
    return `${apiVersionOf(res)}/${res.kind}/${namespace ?? ""}/${name}`;
  }

  get(res: Resource, namespace: string | undefined, name: string): Stored | undefined {
    const o = this.objects.get(this.id(res, namespace, name));
    return o && structuredClone(o);
  }

  list(res: Resource, namespace: string | undefined, labelSelector?: string): Stored[] {
    return [...this.objects.values()]
      .filter((o) => o.kind === res.kind && o.apiVersion === apiVersionOf(res))
      .filter((o) => !namespace || o.metadata.namespace === namespace)
      .filter((o) => matches(o, labelSelector))
      .map((o) => structuredClone(o));
  }

  /** Which managers own a field of an object (for tests' assertions). */
  owners(res: Resource, namespace: string | undefined, name: string, path: string[]): string[] {
    const m = this.managers.get(this.id(res, namespace, name));
    if (!m) return [];
    return [...m.entries()]
      .filter(([, o]) => o.fields.has(key(path)))
      .map(([manager]) => manager.split("|")[0] as string);
  }

  create(res: Resource, body: Obj, manager: string): Stored {
    const meta = (body.metadata ?? {}) as Obj;
    const name = meta.name as string | undefined;
    if (!name) throw new ApiError(422, "Invalid", "metadata.name is required");
    const namespace = res.namespaced ? (meta.namespace as string) : undefined;
    const id = this.id(res, namespace, name);
    if (this.objects.has(id))
      throw new ApiError(409, "AlreadyExists", `${res.plural} "${name}" already exists`);
    const obj = structuredClone(body) as Stored;
    obj.apiVersion = apiVersionOf(res);
    obj.kind = res.kind;
    obj.metadata = {
      ...(obj.metadata as Obj),
      name,
      ...(namespace ? { namespace } : {}),
      uid: randomUUID(),
      generation: 1,
      resourceVersion: "",
      creationTimestamp: new Date().toISOString(),
    };
    if (res.status) delete obj.status;
    // Secrets: stringData is write-only and lands in data.
    if (res.kind === "Secret" && obj.stringData) {
      obj.data = {
        ...((obj.data as Obj) ?? {}),
        ...Object.fromEntries(
          Object.entries(obj.stringData as Record<string, string>).map(([k, v]) => [
            k,
            Buffer.from(v).toString("base64"),
          ]),
        ),
      };
      delete obj.stringData;
    }
    this.own(id, manager, "Update", leaves(obj));
    return this.commit(res, id, obj, "ADDED");
  }

  /** Server-side apply of `applied` by `manager`; conflicts are 409 unless forced. */
  apply(
    res: Resource,
    namespace: string | undefined,
    name: string,
    applied: Obj,
    manager: string,
    force: boolean,
    subresource?: "status",
  ) {
    const id = this.id(res, namespace, name);
    const current = this.objects.get(id);
    const scope = (p: Path) =>
      subresource === "status" ? p[0] === "status" : !(res.status && p[0] === "status");
    const appliedLeaves = leaves(applied).filter(scope);
    const ownerKey = subresource ? `${manager}|status` : manager;
    if (!current) {
      if (subresource) throw new ApiError(404, "NotFound", `${res.plural} "${name}" not found`);
      const created = this.create(
        res,
        { ...applied, metadata: { ...(applied.metadata as Obj), name, namespace } },
        manager,
      );
      this.own(id, ownerKey, "Apply", appliedLeaves);
      return { object: created, created: true };
    }
    const owners = this.managers.get(id) ?? new Map<string, Ownership>();
    const conflicts: string[] = [];
    for (const p of appliedLeaves) {
      for (const [other, o] of owners) {
        if (other === ownerKey) continue;
        for (const f of o.fields) {
          const q = unkey(f);
          if (!overlaps(p, q)) continue;
          // Only values conflict: a map that one side merely asserts exists holds the other's fields.
          if (p.length < q.length && isMap(getPath(applied, p))) continue;
          if (q.length < p.length && isMap(getPath(current, q))) continue;
          if (p.length === q.length && isMap(getPath(current, q)) && isMap(getPath(applied, p))) continue;
          if (!deepEqual(getPath(current, q), getPath(applied, q))) {
            conflicts.push(`conflict with "${other.split("|")[0]}": ${display(q)}`);
            if (force) o.fields.delete(f);
          }
        }
      }
    }
    if (conflicts.length > 0 && !force) {
      throw new ApiError(
        409,
        "Conflict",
        `Apply failed with ${conflicts.length} conflicts: ${conflicts.join("; ")}`,
      );
    }
    const next = structuredClone(current);
    const previous =
      owners.get(ownerKey)?.operation === "Apply" ? [...(owners.get(ownerKey)?.fields ?? [])] : [];
    const now = new Set(appliedLeaves.map(key));
    for (const f of previous) {
      const fp = unkey(f);
      if (now.has(f) || appliedLeaves.some((p) => within(p, fp))) continue;
      // A field another manager owns, or owns something inside, stays.
      const ownedElsewhere = [...owners.entries()].some(
        ([m, o]) => m !== ownerKey && [...o.fields].some((g) => within(unkey(g), fp)),
      );
      if (!ownedElsewhere) deletePath(next, fp);
    }
    for (const p of appliedLeaves) {
      const value = getPath(applied, p);
      // An empty map says the map exists; it does not empty what others put in it.
      if (isMap(value) && isMap(getPath(next, p))) continue;
      setPath(next, p, value);
    }
    this.own(id, ownerKey, "Apply", appliedLeaves);
    return { object: this.update(res, id, current, next), created: false };
  }

  /** A write that is not an apply (PUT, merge patch, status by a controller): changed fields move to `manager`. */
  replace(
    res: Resource,
    namespace: string | undefined,
    name: string,
    body: Obj,
    manager: string,
    subresource?: "status",
  ) {
    const id = this.id(res, namespace, name);
    const current = this.objects.get(id);
    if (!current) throw new ApiError(404, "NotFound", `${res.plural} "${name}" not found`);
    const rv = (body.metadata as Obj | undefined)?.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== current.metadata.resourceVersion) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${res.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    let next: Stored;
    if (subresource === "status") {
      next = { ...structuredClone(current), status: structuredClone(body.status) } as Stored;
    } else {
      next = structuredClone(body) as Stored;
      next.apiVersion = current.apiVersion;
      next.kind = current.kind;
      next.metadata = { ...(body.metadata as Obj), ...pick(current.metadata) } as Stored["metadata"];
      if (res.status) next.status = current.status;
    }
    const changed = leaves(next).filter((p) => !deepEqual(getPath(next, p), getPath(current, p)));
    const owners = this.managers.get(id);
    for (const p of changed) for (const o of owners?.values() ?? []) o.fields.delete(key(p));
    const mine = owners?.get(manager);
    this.own(id, manager, "Update", [...(mine ? [...mine.fields].map(unkey) : []), ...changed]);
    return this.update(res, id, current, next);
  }

  delete(res: Resource, namespace: string | undefined, name: string) {
    const id = this.id(res, namespace, name);
    const current = this.objects.get(id);
    if (!current) throw new ApiError(404, "NotFound", `${res.plural} "${name}" not found`);
    this.objects.delete(id);
    this.managers.delete(id);
    this.emit(res, current, "DELETED");
    this.collectGarbage(current.metadata.uid);
    return current;
  }

  /** Background cascading deletion: dependents whose ownerReferences name a deleted uid go too. */
  private collectGarbage(uid: string) {
    for (const [id, o] of [...this.objects]) {
      const refs = ((o.metadata as Obj).ownerReferences ?? []) as { uid: string }[];
      if (!refs.some((r) => r.uid === uid) || !this.objects.has(id)) continue;
      const res = this.resourceOf(o);
      if (res) this.delete(res, o.metadata.namespace, o.metadata.name);
    }
  }

  resources: Resource[] = [];
  private resourceOf(o: Stored) {
    return this.resources.find((r) => apiVersionOf(r) === o.apiVersion && r.kind === o.kind);
  }

  private own(id: string, manager: string, operation: Ownership["operation"], paths: Path[]) {
    const owners = this.managers.get(id) ?? new Map<string, Ownership>();
    owners.set(manager, { operation, fields: new Set(paths.map(key)) });
    this.managers.set(id, owners);
  }

  private update(res: Resource, id: string, current: Stored, next: Stored): Stored {
    const strip = (o: Stored) => ({
      ...o,
      metadata: { ...o.metadata, resourceVersion: "", managedFields: undefined },
    });
    if (deepEqual(strip(current), strip(next))) return structuredClone(current);
    // The generation counts changes of the desired state: anything but metadata and status.
    const desired = (o: Stored) =>
      Object.fromEntries(Object.entries(o).filter(([k]) => k !== "metadata" && k !== "status"));
    next.metadata.generation =
      current.metadata.generation + (deepEqual(desired(current), desired(next)) ? 0 : 1);
    return this.commit(res, id, next, "MODIFIED");
  }

  private commit(res: Resource, id: string, obj: Stored, type: WatchEvent["type"]) {
    obj.metadata.resourceVersion = String(++this.rv);
    const owners = this.managers.get(id);
    obj.metadata.managedFields = [...(owners?.entries() ?? [])].map(([m, o]) => ({
      manager: m.split("|")[0],
      operation: o.operation,
      ...(m.endsWith("|status") ? { subresource: "status" } : {}),
      fieldsType: "FieldsV1",
      fieldsV1: fieldsV1([...o.fields].map(unkey)),
    }));
    this.objects.set(id, obj);
    this.emit(res, obj, type, false);
    return structuredClone(obj);
  }

  private emit(res: Resource, obj: Stored, type: WatchEvent["type"], bump = true) {
    const object = structuredClone(obj);
    if (bump) object.metadata.resourceVersion = String(++this.rv);
    const event = { type, object, rv: Number(object.metadata.resourceVersion), resource: res };
    this.log.push(event);
    this.events.emit("event", event);
  }
}

const pick = (m: Stored["metadata"]) => ({
  name: m.name,
  ...(m.namespace ? { namespace: m.namespace } : {}),
  uid: m.uid,
  generation: m.generation,
  resourceVersion: m.resourceVersion,
  creationTimestamp: m.creationTimestamp,
});

export function matches(o: Stored, selector?: string) {
  if (!selector) return true;
  const labels = ((o.metadata as Obj).labels ?? {}) as Record<string, string>;
  return selector.split(",").every((term) => {
    const [k, v] = term.split("=") as [string, string | undefined];
    return v === undefined ? k in labels : labels[k] === v;
  });
}
