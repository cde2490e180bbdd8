/**
 * Field paths for the fake API server's server-side apply. A path is the list of keys down to a
 * leaf; lists are atomic leaves (a simplification: the real API server merges some lists by key).
 */
export type Path = string[];
export type Obj = Record<string, unknown>;

const isMap = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Fields no manager owns: identity and bookkeeping. */
const ignored = new Set([
  "apiVersion",
  "kind",
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "metadata.resourceVersion",
  "metadata.generation",
  "metadata.creationTimestamp",
  "metadata.managedFields",
  "metadata.deletionTimestamp",
]);

/** Leaf paths of an object: scalars, lists, and empty maps (applying `x: {}` owns x). */
export function leaves(obj: unknown, prefix: Path = []): Path[] {
  if (!isMap(obj) || (Object.keys(obj).length === 0 && prefix.length > 0))
    return prefix.length ? [prefix] : [];
  const out: Path[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = [...prefix, k];
    if (ignored.has(p.join("."))) continue;
    out.push(...leaves(v, p));
  }
  return out;
}

export const key = (p: Path) => JSON.stringify(p);
export const unkey = (k: string) => JSON.parse(k) as Path;
export const display = (p: Path) => `.${p.join(".")}`;

/** Owned leaf paths in the API server's managedFields notation: `{"f:spec":{"f:replicas":{}}}`. */
export function fieldsV1(paths: Path[]): Obj {
  const out: Obj = {};
  for (const p of paths) {
    let cur = out;
    for (const k of p) {
      cur[`f:${k}`] ??= {};
      cur = cur[`f:${k}`] as Obj;
    }
  }
  return out;
}

export function getPath(obj: unknown, p: Path): unknown {
  let cur = obj;
  for (const k of p) {
    if (!isMap(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

export function setPath(obj: Obj, p: Path, value: unknown) {
  let cur = obj;
  for (const k of p.slice(0, -1)) {
    if (!isMap(cur[k])) cur[k] = {};
    cur = cur[k] as Obj;
  }
  cur[p.at(-1) as string] = structuredClone(value);
}

/** Removes a leaf and the maps it leaves empty. */
export function deletePath(obj: Obj, p: Path) {
  const parents: Obj[] = [obj];
  let cur = obj;
  for (const k of p.slice(0, -1)) {
    if (!isMap(cur[k])) return;
    cur = cur[k] as Obj;
    parents.push(cur);
  }
  delete cur[p.at(-1) as string];
  for (let i = parents.length - 1; i > 0; i--) {
    const parent = parents[i] as Obj;
    if (Object.keys(parent).length > 0) break;
    delete (parents[i - 1] as Obj)[p[i - 1] as string];
  }
}

/** Whether `inner` is `outer` or lies below it. */
export const within = (inner: Path, outer: Path) => inner.length >= outer.length && overlaps(inner, outer);

/** Whether one path is the other or lies below it. */
export const overlaps = (a: Path, b: Path) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

export function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isMap(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return structuredClone(patch);
  const out: Obj = isMap(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export { isMap };
