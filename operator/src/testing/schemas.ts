import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { parse } from "yaml";
import { findSharedCrds } from "../../../tests/support/shared-crds.ts";
import { repoRoot } from "./helm.ts";

/**
 * Validates Kubernetes objects against their real schemas: built-in kinds against the Kubernetes
 * v1.36 OpenAPI document, custom resources against the openAPIV3Schema of their CRD (those of
 * CloudNativePG, the Prometheus Operator and the redis-operator in ../shared/crds/, and ours).
 *
 * Both are made strict the way `kubectl apply --validate=strict` is: an object schema that lists
 * its properties refuses any other property, so a misspelt field fails here rather than being
 * silently dropped by the API server.
 */
export const sharedCrds = findSharedCrds(repoRoot);
const ownCrds = join(repoRoot, "charts/canopy-operator/crds");

type Json = Record<string, unknown>;
export type SchemaSource = { validate: ValidateFunction; source: string };

function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    // Property names are data, not keywords: recurse into each property's schema only.
    out[k] =
      (k === "properties" || k === "definitions") && v && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([name, s]) => [name, strict(s)]))
        : strict(v);
  }
  if (
    out.properties !== undefined &&
    out.additionalProperties === undefined &&
    out["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

/**
 * CRD patterns are Go regular expressions; the only Go-only syntax they use is the (?i) flag,
 * applied here to the whole pattern (a slightly looser match, never a stricter one).
 */
const goRegExp = Object.assign(
  (pattern: string, flags: string) =>
    pattern.includes("(?i)")
      ? new RegExp(pattern.replaceAll("(?i)", ""), `${flags}i`)
      : new RegExp(pattern, flags),
  { code: "goRegExp" },
);

function newAjv() {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, code: { regExp: goRegExp } });
  for (const f of [
    "int32",
    "int64",
    "double",
    "float",
    "byte",
    "date-time",
    "int-or-string",
    "uri",
    "binary",
  ]) {
    ajv.addFormat(f, true);
  }
  return ajv;
}

let registry: Map<string, SchemaSource> | undefined;

function buildRegistry(): Map<string, SchemaSource> {
  const map = new Map<string, SchemaSource>();
  const ajv = newAjv();
  const swaggerFile = join(sharedCrds, "k8s/kubernetes-v1.36-swagger.enums.json");
  const swagger = JSON.parse(readFileSync(swaggerFile, "utf8")) as { definitions: Record<string, Json> };
  const definitions = strict(swagger.definitions) as Record<string, Json>;
  // The document types these two as strings; the API server also takes their numeric forms.
  definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {
    anyOf: [{ type: "string" }, { type: "integer" }],
  };
  definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"] = {
    anyOf: [{ type: "string" }, { type: "number" }],
  };
  ajv.addSchema({ $id: "k8s", definitions });
  for (const [name, def] of Object.entries(definitions)) {
    const gvks = def["x-kubernetes-group-version-kind"] as
      | { group: string; version: string; kind: string }[]
      | undefined;
    for (const gvk of gvks ?? []) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      const key = `${apiVersion}/${gvk.kind}`;
      let compiled: ValidateFunction | undefined;
      map.set(key, {
        source: `Kubernetes v1.36 OpenAPI ${name}`,
        get validate() {
          compiled ??= ajv.compile({ $ref: `k8s#/definitions/${name}` });
          return compiled;
        },
      });
    }
  }
  for (const dir of [sharedCrds, ownCrds]) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
      const crd = parse(readFileSync(join(dir, file), "utf8")) as {
        spec: {
          group: string;
          names: { kind: string };
          versions: { name: string; schema: { openAPIV3Schema: Json } }[];
        };
      };
      for (const v of crd.spec.versions) {
        let compiled: ValidateFunction | undefined;
        const schema = v.schema.openAPIV3Schema;
        map.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, {
          source: `CRD ${file} (${v.name})`,
          get validate() {
            compiled ??= newAjv().compile(strict(schema) as Json);
            return compiled;
          },
        });
      }
    }
  }
  return map;
}

export function schemaFor(apiVersion: string, kind: string): SchemaSource | undefined {
  registry ??= buildRegistry();
  return registry.get(`${apiVersion}/${kind}`);
}

export type Validation = { ok: true; source: string } | { ok: false; source: string; errors: string[] };

/** Validates one object; an object whose kind has no known schema is an error, not a pass. */
export function validateObject(obj: {
  apiVersion?: unknown;
  kind?: unknown;
  [field: string]: unknown;
}): Validation {
  const schema = schemaFor(String(obj.apiVersion), String(obj.kind));
  if (!schema) return { ok: false, source: "none", errors: [`no schema for ${obj.apiVersion} ${obj.kind}`] };
  if (schema.validate(obj)) return { ok: true, source: schema.source };
  const errors = (schema.validate.errors ?? []).map(
    (e) =>
      `${e.instancePath || "/"} ${e.message}${e.params && "additionalProperty" in e.params ? `: ${e.params.additionalProperty}` : ""}`,
  );
  return { ok: false, source: schema.source, errors };
}

type SchemaNode = {
  description?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: unknown;
};

/** Fields of a values.schema.json without a description, and objects that accept unknown fields. */
export function schemaProblems(node: SchemaNode, path = "values", out: string[] = []): string[] {
  if (!node.description) out.push(`${path}: no description`);
  if (node.properties) {
    if (node.additionalProperties !== false) out.push(`${path}: additionalProperties is not false`);
    for (const [k, v] of Object.entries(node.properties)) schemaProblems(v, `${path}.${k}`, out);
  }
  return out;
}
