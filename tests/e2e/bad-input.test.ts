import { request as httpRequest } from "node:http";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, startTestApp, type TestApp } from "../support/app.ts";

/**
 * Bad input for every route of the contract: each case is one request that must fail with the
 * status the contract ranks first, a clean problem+json body, and no change to any state.
 */

type Method = "GET" | "POST" | "PATCH" | "DELETE";
type TokenName = "admin" | "write" | "read" | "none";

type Call = {
  method: Method;
  /** `{{name}}` stands for a fixture id, `{{future}}` for a revision above the latest. */
  path: string;
  /** Sent as JSON (with application/json unless contentType says otherwise). */
  body?: unknown;
  /** Sent verbatim: a string (UTF-8) or bytes. */
  raw?: string | Uint8Array;
  /** null: no Content-Type header at all. */
  contentType?: string | null;
  /** Which harness token to send (default admin); null: no Authorization header. */
  token?: TokenName | null;
  /** An Authorization header sent as is, instead of a token. */
  authorization?: string;
  headers?: Record<string, string>;
};

type Case = Call & {
  name: string;
  status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422;
  /** What one of `errors[].path` or `errors[].message` must name (validation 400s). */
  field?: string | RegExp;
};

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON of any shape, inspected field by field
type Reply = { status: number; headers: Headers; text: string; body: any };

const MiB = 1024 * 1024;
const encoder = new TextEncoder();
/** Valid JSON one byte over 1 MiB. */
const oversized = `{"name":"${"x".repeat(MiB - 10)}"}`;
/** Not JSON, and over 1 MiB. */
const oversizedMalformed = `{"name": ${"[".repeat(MiB + 1)}`;
/** Exactly 1 MiB of valid JSON: not too large (only a name too long). */
const exactlyOneMiB = `{"name":"${"x".repeat(MiB - 11)}"}`;
/** 600 000 characters but 1.2 MB of UTF-8: the limit counts bytes. */
const oversizedInBytes = `{"name":"${"é".repeat(600_000)}"}`;

const minRevisionField = /minRevision|min-revision/i;
if (encoder.encode(oversized).length !== MiB + 1 || encoder.encode(exactlyOneMiB).length !== MiB) {
  throw new Error("the oversized bodies are not the sizes their names say");
}
const leaks =
  /\bat [^\n]*\.(ts|js|mjs)\b|node_modules|\bSELECT\b|\bINSERT\b|\bUPDATE\b.*\bSET\b|DELETE FROM|postgres|pglite|drizzle|syntax error|violates|constraint|relation "|stack|ERR_/i;

const bodyRoutes: { method: Method; path: string; label: string }[] = [
  { method: "POST", path: "/v1/structures", label: "POST /v1/structures" },
  { method: "PATCH", path: "/v1/structures/{{child}}", label: "PATCH /v1/structures/{id}" },
  { method: "POST", path: "/v1/users", label: "POST /v1/users" },
  { method: "PATCH", path: "/v1/users/{{bob}}", label: "PATCH /v1/users/{id}" },
  { method: "POST", path: "/v1/permissions", label: "POST /v1/permissions" },
  { method: "PATCH", path: "/v1/permissions/{{grantBobRoot}}", label: "PATCH /v1/permissions/{id}" },
  { method: "POST", path: "/v1/check/batch", label: "POST /v1/check/batch" },
];

/** Every GET route that pages, with a query that gives it more than one item in the fixture. */
const pagedRoutes: { path: string; label: string }[] = [
  { path: "/v1/structures?", label: "GET /v1/structures" },
  { path: "/v1/structures/{{root}}/descendants?", label: "GET /v1/structures/{id}/descendants" },
  { path: "/v1/structures/{{child}}/members?", label: "GET /v1/structures/{id}/members" },
  { path: "/v1/structures/{{root}}/principals?", label: "GET /v1/structures/{id}/principals" },
  { path: "/v1/users?", label: "GET /v1/users" },
  { path: "/v1/users/{{alice}}/structures?", label: "GET /v1/users/{id}/structures" },
  { path: "/v1/users/{{alice}}/visible-users?", label: "GET /v1/users/{id}/visible-users" },
  { path: "/v1/permissions?", label: "GET /v1/permissions" },
];

/** Every read: the paged routes, single objects, ancestors and both checks. */
const readRoutes: { method: Method; path: string; label: string; body?: unknown }[] = [
  ...pagedRoutes.map((r) => ({ method: "GET" as const, ...r })),
  { method: "GET", path: "/v1/structures/{{root}}?", label: "GET /v1/structures/{id}" },
  {
    method: "GET",
    path: "/v1/structures/{{grandchild}}/ancestors?",
    label: "GET /v1/structures/{id}/ancestors",
  },
  { method: "GET", path: "/v1/users/{{alice}}?", label: "GET /v1/users/{id}" },
  { method: "GET", path: "/v1/permissions/{{grantAliceRoot}}?", label: "GET /v1/permissions/{id}" },
  {
    method: "GET",
    path: "/v1/check?userId={{alice}}&structureId={{child}}&action=read&",
    label: "GET /v1/check",
  },
  {
    method: "POST",
    path: "/v1/check/batch?",
    label: "POST /v1/check/batch",
    body: { checks: [{ userId: "{{alice}}", structureId: "{{child}}", action: "read" }] },
  },
];

/** Every route with an id in its path, with a body that would be accepted for a real id. */
const idRoutes: { method: Method; path: string; label: string; body?: unknown; real: string }[] = [
  { method: "GET", path: "/v1/structures/ID", label: "GET /v1/structures/{id}", real: "leaf" },
  {
    method: "PATCH",
    path: "/v1/structures/ID",
    label: "PATCH /v1/structures/{id}",
    body: { name: "renamed" },
    real: "leaf",
  },
  { method: "DELETE", path: "/v1/structures/ID", label: "DELETE /v1/structures/{id}", real: "leaf" },
  {
    method: "GET",
    path: "/v1/structures/ID/ancestors",
    label: "GET /v1/structures/{id}/ancestors",
    real: "leaf",
  },
  {
    method: "GET",
    path: "/v1/structures/ID/descendants",
    label: "GET /v1/structures/{id}/descendants",
    real: "leaf",
  },
  {
    method: "GET",
    path: "/v1/structures/ID/members",
    label: "GET /v1/structures/{id}/members",
    real: "leaf",
  },
  {
    method: "GET",
    path: "/v1/structures/ID/principals",
    label: "GET /v1/structures/{id}/principals",
    real: "leaf",
  },
  { method: "GET", path: "/v1/users/ID", label: "GET /v1/users/{id}", real: "dave" },
  {
    method: "PATCH",
    path: "/v1/users/ID",
    label: "PATCH /v1/users/{id}",
    body: { name: "renamed" },
    real: "dave",
  },
  { method: "DELETE", path: "/v1/users/ID", label: "DELETE /v1/users/{id}", real: "dave" },
  { method: "GET", path: "/v1/users/ID/structures", label: "GET /v1/users/{id}/structures", real: "dave" },
  {
    method: "GET",
    path: "/v1/users/ID/visible-users",
    label: "GET /v1/users/{id}/visible-users",
    real: "dave",
  },
  { method: "GET", path: "/v1/permissions/ID", label: "GET /v1/permissions/{id}", real: "grantDave" },
  {
    method: "PATCH",
    path: "/v1/permissions/ID",
    label: "PATCH /v1/permissions/{id}",
    body: { role: "editor" },
    real: "grantDave",
  },
  { method: "DELETE", path: "/v1/permissions/ID", label: "DELETE /v1/permissions/{id}", real: "grantDave" },
];

/**
 * Path segments that name nothing. `REAL` stands for the id of an existing, deletable object:
 * spellings a lenient number parser would take for it must still name nothing.
 */
const unknownIds: string[] = [
  "abc",
  "-1",
  "0",
  "1e3",
  "007",
  "99999999999999999999",
  "9223372036854775807",
  "9223372036854775808",
  "1".repeat(1000),
  "%20",
  "%00",
  "%2F",
  "%zz",
  "%E2%82%AC",
  "999999",
  "0REAL",
  "REAL.0",
  "REALe0",
  "%2BREAL",
  "%20REAL",
  "REAL%20",
  "REAL%0A",
];

const malformedJson: [string, string][] = [
  ["an empty body", ""],
  ["a truncated object", '{"name":'],
  ["unquoted keys", '{name: "x"}'],
  ["a trailing comma", '{"name":"x",}'],
  ["single quotes", "{'name':'x'}"],
  ["trailing garbage", '{"name":"x"}}'],
  ["a bare word", "undefined"],
];
const notObjects: [string, string][] = [
  ["an array", "[]"],
  ["a string", '"x"'],
  ["a number", "42"],
  ["null", "null"],
  ["true", "true"],
];
const wrongContentTypes: [string, string | null][] = [
  ["text/plain", "text/plain"],
  ["no Content-Type", null],
  ["application/json with charset=latin1", "application/json; charset=latin1"],
  ["application/json with charset=iso-8859-1", "application/json; charset=iso-8859-1"],
  ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded"],
  ["multipart/form-data", "multipart/form-data; boundary=x"],
  ["application/xml", "application/xml"],
];
const badLimits = ["0", "1001", "abc", "1.5", "-5"];
const forgedCursors: [string, string][] = [
  ["a plain word", "abc"],
  ["two random parts", "abc.def"],
  ["three parts", "a.b.c"],
  ["a key with an empty signature", "MQ."],
  ["a key with a zero signature", `MQ.${"A".repeat(43)}`],
  ["a lone dot", "."],
  ["10 000 characters", "A".repeat(10_000)],
];
/** Filled from a real cursor (base64url payload and signature), one alteration each. */
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const bytesWithInvalidUtf8 = (before: string, after: string) =>
  new Uint8Array([...encoder.encode(before), 0xff, 0xfe, ...encoder.encode(after)]);

function buildCases(): Record<string, Case[]> {
  const cases: Record<string, Case[]> = {};
  const add = (group: string, ...more: Case[]) => {
    cases[group] = [...(cases[group] ?? []), ...more];
  };

  for (const r of bodyRoutes) {
    for (const [what, raw] of malformedJson) {
      add("malformed JSON is 400", {
        name: `${r.label}: ${what}`,
        method: r.method,
        path: r.path,
        raw,
        status: 400,
      });
    }
    for (const [what, raw] of notObjects) {
      add("JSON that is not an object is 400", {
        name: `${r.label}: ${what}`,
        method: r.method,
        path: r.path,
        raw,
        status: 400,
        field: "body",
      });
    }
    for (const [what, contentType] of wrongContentTypes) {
      add("a body that is not application/json (UTF-8) is 415", {
        name: `${r.label}: ${what}`,
        method: r.method,
        path: r.path,
        raw: "{}",
        contentType,
        status: 415,
      });
    }
    add(
      "a body over 1 MiB is 413",
      {
        name: `${r.label}: valid JSON one byte over 1 MiB`,
        method: r.method,
        path: r.path,
        raw: oversized,
        status: 413,
      },
      {
        name: `${r.label}: malformed JSON over 1 MiB`,
        method: r.method,
        path: r.path,
        raw: oversizedMalformed,
        status: 413,
      },
    );
  }
  add(
    "a body over 1 MiB is 413",
    {
      name: "POST /v1/structures: 600 000 two-byte characters (1.2 MB) are counted in bytes",
      method: "POST",
      path: "/v1/structures",
      raw: oversizedInBytes,
      status: 413,
    },
    {
      name: "POST /v1/structures: exactly 1 MiB is not too large, only its name is too long (400)",
      method: "POST",
      path: "/v1/structures",
      raw: exactlyOneMiB,
      status: 400,
      field: "name",
    },
  );

  const long = "n".repeat(201);
  add(
    "POST /v1/structures refuses invalid bodies",
    {
      name: "an unknown field is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: "x", color: "red" },
      status: 400,
      field: "color",
    },
    {
      name: "a server-chosen field (id) is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: "x", id: "5" },
      status: 400,
      field: "id",
    },
    {
      name: "a derived field (depth) is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: "x", depth: 0 },
      status: 400,
      field: "depth",
    },
    {
      name: "a wrongly cased field (parentID) is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: "x", parentID: null },
      status: 400,
      field: "parentID",
    },
    {
      name: "an own __proto__ field is 400",
      method: "POST",
      path: "/v1/structures",
      raw: '{"name":"x","__proto__":{"admin":true}}',
      status: 400,
      field: "__proto__",
    },
    {
      name: "a missing name is 400",
      method: "POST",
      path: "/v1/structures",
      body: {},
      status: 400,
      field: "name",
    },
    {
      name: "an empty name is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: "" },
      status: 400,
      field: "name",
    },
    {
      name: "a name of 201 characters is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: long },
      status: 400,
      field: "name",
    },
    {
      name: "a numeric name is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: 5 },
      status: 400,
      field: "name",
    },
    {
      name: "a null name is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: null },
      status: 400,
      field: "name",
    },
    {
      name: "an array name is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: ["x"] },
      status: 400,
      field: "name",
    },
    {
      name: "an object name is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: {} },
      status: 400,
      field: "name",
    },
    {
      name: "a numeric parentId is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: "x", parentId: 1 },
      status: 400,
      field: "parentId",
    },
    {
      name: "a boolean parentId is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: "x", parentId: true },
      status: 400,
      field: "parentId",
    },
    {
      name: "a numeric externalId is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: "x", externalId: 7 },
      status: 400,
      field: "externalId",
    },
    {
      name: "an object externalId is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: "x", externalId: {} },
      status: 400,
      field: "externalId",
    },
    {
      name: "a name containing U+0000 is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: "a\u0000b" },
      status: 400,
      field: "name",
    },
    {
      name: "an externalId containing U+0000 is 400",
      method: "POST",
      path: "/v1/structures",
      body: { name: "x", externalId: "e\u0000" },
      status: 400,
      field: "externalId",
    },
    {
      name: "bytes that are not UTF-8 are malformed JSON (400)",
      method: "POST",
      path: "/v1/structures",
      raw: bytesWithInvalidUtf8('{"name":"', '"}'),
      status: 400,
    },
  );
  add(
    "PATCH /v1/structures/{id} refuses invalid bodies",
    {
      name: "an unknown field is 400",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { color: "red" },
      status: 400,
      field: "color",
    },
    {
      name: "a derived field (path) is 400",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { path: "/1/" },
      status: 400,
      field: "path",
    },
    {
      name: "a server-chosen field (id) is 400",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { id: "{{root}}" },
      status: 400,
      field: "id",
    },
    {
      name: "an empty name is 400",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { name: "" },
      status: 400,
      field: "name",
    },
    {
      name: "a name of 201 characters is 400",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { name: long },
      status: 400,
      field: "name",
    },
    {
      name: "a null name is 400",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { name: null },
      status: 400,
      field: "name",
    },
    {
      name: "a numeric parentId is 400",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { parentId: 1 },
      status: 400,
      field: "parentId",
    },
    {
      name: "an array parentId is 400",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { parentId: ["{{root}}"] },
      status: 400,
      field: "parentId",
    },
    {
      name: "a numeric externalId is 400",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { externalId: 1 },
      status: 400,
      field: "externalId",
    },
    {
      name: "a name containing U+0000 is 400",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { name: "\u0000" },
      status: 400,
      field: "name",
    },
    {
      name: "bytes that are not UTF-8 are malformed JSON (400)",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      raw: bytesWithInvalidUtf8('{"name":"', '"}'),
      status: 400,
    },
  );
  add(
    "POST /v1/users refuses invalid bodies",
    {
      name: "an unknown field is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "n1@x.test", name: "N", structureId: "{{child}}", role: "admin" },
      status: 400,
      field: "role",
    },
    {
      name: "a server-chosen field (createdAt) is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "n1@x.test", name: "N", structureId: "{{child}}", createdAt: "2020-01-01T00:00:00Z" },
      status: 400,
      field: "createdAt",
    },
    {
      name: "an email without @ is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "nope", name: "N", structureId: "{{child}}" },
      status: 400,
      field: "email",
    },
    {
      name: "an email without domain is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "a@", name: "N", structureId: "{{child}}" },
      status: 400,
      field: "email",
    },
    {
      name: "an email without local part is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "@x.test", name: "N", structureId: "{{child}}" },
      status: 400,
      field: "email",
    },
    {
      name: "an empty email is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "", name: "N", structureId: "{{child}}" },
      status: 400,
      field: "email",
    },
    {
      name: "an email with spaces is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "a b@x.test", name: "N", structureId: "{{child}}" },
      status: 400,
      field: "email",
    },
    {
      name: "a numeric email is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: 5, name: "N", structureId: "{{child}}" },
      status: 400,
      field: "email",
    },
    {
      name: "a missing email is 400",
      method: "POST",
      path: "/v1/users",
      body: { name: "N", structureId: "{{child}}" },
      status: 400,
      field: "email",
    },
    {
      name: "an empty name is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "n1@x.test", name: "", structureId: "{{child}}" },
      status: 400,
      field: "name",
    },
    {
      name: "a name of 201 characters is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "n1@x.test", name: long, structureId: "{{child}}" },
      status: 400,
      field: "name",
    },
    {
      name: "a missing name is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "n1@x.test", structureId: "{{child}}" },
      status: 400,
      field: "name",
    },
    {
      name: "a missing structureId is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "n1@x.test", name: "N" },
      status: 400,
      field: "structureId",
    },
    {
      name: "a numeric structureId is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "n1@x.test", name: "N", structureId: 1 },
      status: 400,
      field: "structureId",
    },
    {
      name: "a null structureId is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "n1@x.test", name: "N", structureId: null },
      status: 400,
      field: "structureId",
    },
    {
      name: "a name containing U+0000 is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "n1@x.test", name: "n\u0000", structureId: "{{child}}" },
      status: 400,
      field: "name",
    },
    {
      name: "an externalId containing U+0000 is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "n1@x.test", name: "N", structureId: "{{child}}", externalId: "\u0000" },
      status: 400,
      field: "externalId",
    },
    {
      name: "a boolean externalId is 400",
      method: "POST",
      path: "/v1/users",
      body: { email: "n1@x.test", name: "N", structureId: "{{child}}", externalId: false },
      status: 400,
      field: "externalId",
    },
  );
  add(
    "PATCH /v1/users/{id} refuses invalid bodies",
    {
      name: "an unknown field is 400",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { password: "x" },
      status: 400,
      field: "password",
    },
    {
      name: "a bad email is 400",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { email: "bob-at-x.test" },
      status: 400,
      field: "email",
    },
    {
      name: "a null email is 400",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { email: null },
      status: 400,
      field: "email",
    },
    {
      name: "an empty name is 400",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { name: "" },
      status: 400,
      field: "name",
    },
    {
      name: "a name of 201 characters is 400",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { name: long },
      status: 400,
      field: "name",
    },
    {
      name: "a numeric structureId is 400",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { structureId: 1 },
      status: 400,
      field: "structureId",
    },
    {
      name: "a null structureId is 400 (a user belongs to exactly one structure)",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { structureId: null },
      status: 400,
      field: "structureId",
    },
    {
      name: "a numeric externalId is 400",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { externalId: 1 },
      status: 400,
      field: "externalId",
    },
    {
      name: "a name containing U+0000 is 400",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { name: "b\u0000" },
      status: 400,
      field: "name",
    },
  );
  add(
    "POST /v1/permissions refuses invalid bodies",
    {
      name: "an unknown role is 400",
      method: "POST",
      path: "/v1/permissions",
      body: { userId: "{{bob}}", structureId: "{{sibling}}", role: "owner" },
      status: 400,
      field: "role",
    },
    {
      name: "a role in another letter case is 400",
      method: "POST",
      path: "/v1/permissions",
      body: { userId: "{{bob}}", structureId: "{{sibling}}", role: "Admin" },
      status: 400,
      field: "role",
    },
    {
      name: "an empty role is 400",
      method: "POST",
      path: "/v1/permissions",
      body: { userId: "{{bob}}", structureId: "{{sibling}}", role: "" },
      status: 400,
      field: "role",
    },
    {
      name: "a numeric role is 400",
      method: "POST",
      path: "/v1/permissions",
      body: { userId: "{{bob}}", structureId: "{{sibling}}", role: 2 },
      status: 400,
      field: "role",
    },
    {
      name: "a missing role is 400",
      method: "POST",
      path: "/v1/permissions",
      body: { userId: "{{bob}}", structureId: "{{sibling}}" },
      status: 400,
      field: "role",
    },
    {
      name: "an action instead of a role is 400",
      method: "POST",
      path: "/v1/permissions",
      body: { userId: "{{bob}}", structureId: "{{sibling}}", role: "write" },
      status: 400,
      field: "role",
    },
    {
      name: "a numeric userId is 400",
      method: "POST",
      path: "/v1/permissions",
      body: { userId: 1, structureId: "{{sibling}}", role: "viewer" },
      status: 400,
      field: "userId",
    },
    {
      name: "a missing structureId is 400",
      method: "POST",
      path: "/v1/permissions",
      body: { userId: "{{bob}}", role: "viewer" },
      status: 400,
      field: "structureId",
    },
    {
      name: "an unknown field is 400",
      method: "POST",
      path: "/v1/permissions",
      body: {
        userId: "{{bob}}",
        structureId: "{{sibling}}",
        role: "viewer",
        expiresAt: "2030-01-01T00:00:00Z",
      },
      status: 400,
      field: "expiresAt",
    },
  );
  add(
    "PATCH /v1/permissions/{id} refuses invalid bodies",
    {
      name: "an empty object (role is required) is 400",
      method: "PATCH",
      path: "/v1/permissions/{{grantBobRoot}}",
      body: {},
      status: 400,
      field: "role",
    },
    {
      name: "an unknown role is 400",
      method: "PATCH",
      path: "/v1/permissions/{{grantBobRoot}}",
      body: { role: "superuser" },
      status: 400,
      field: "role",
    },
    {
      name: "a null role is 400",
      method: "PATCH",
      path: "/v1/permissions/{{grantBobRoot}}",
      body: { role: null },
      status: 400,
      field: "role",
    },
    {
      name: "changing the holder (userId) is an unknown field (400)",
      method: "PATCH",
      path: "/v1/permissions/{{grantBobRoot}}",
      body: { role: "editor", userId: "{{alice}}" },
      status: 400,
      field: "userId",
    },
    {
      name: "changing the structure is an unknown field (400)",
      method: "PATCH",
      path: "/v1/permissions/{{grantBobRoot}}",
      body: { role: "editor", structureId: "{{child}}" },
      status: 400,
      field: "structureId",
    },
  );
  const check = { userId: "{{alice}}", structureId: "{{child}}", action: "read" };
  add(
    "POST /v1/check/batch refuses invalid bodies",
    {
      name: "0 checks is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: { checks: [] },
      status: 400,
      field: "checks",
    },
    {
      name: "101 checks is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: { checks: Array.from({ length: 101 }, () => check) },
      status: 400,
      field: "checks",
    },
    {
      name: "a missing checks field is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: {},
      status: 400,
      field: "checks",
    },
    {
      name: "checks that is not an array is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: { checks: check },
      status: 400,
      field: "checks",
    },
    {
      name: "a bare array of checks is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: [check],
      status: 400,
    },
    {
      name: "an unknown action is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: { checks: [check, { ...check, action: "delete" }] },
      status: 400,
      field: "action",
    },
    {
      name: "a role instead of an action is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: { checks: [{ ...check, action: "viewer" }] },
      status: 400,
      field: "action",
    },
    {
      name: "an unknown field in an item is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: { checks: [{ ...check, role: "admin" }] },
      status: 400,
      field: "role",
    },
    {
      name: "an unknown top-level field is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: { checks: [check], explain: true },
      status: 400,
      field: "explain",
    },
    {
      name: "an item without userId is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: { checks: [{ structureId: "{{child}}", action: "read" }] },
      status: 400,
      field: "userId",
    },
    {
      name: "a numeric structureId is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: { checks: [{ ...check, structureId: 1 }] },
      status: 400,
      field: "structureId",
    },
    {
      name: "an item that is not an object is 400",
      method: "POST",
      path: "/v1/check/batch",
      body: { checks: ["{{alice}}"] },
      status: 400,
      field: "checks",
    },
  );
  add(
    "GET /v1/check refuses invalid queries",
    {
      name: "a missing userId is 400",
      method: "GET",
      path: "/v1/check?structureId={{child}}&action=read",
      status: 400,
      field: "userId",
    },
    {
      name: "a missing structureId is 400",
      method: "GET",
      path: "/v1/check?userId={{alice}}&action=read",
      status: 400,
      field: "structureId",
    },
    {
      name: "a missing action is 400",
      method: "GET",
      path: "/v1/check?userId={{alice}}&structureId={{child}}",
      status: 400,
      field: "action",
    },
    {
      name: "an unknown action is 400",
      method: "GET",
      path: "/v1/check?userId={{alice}}&structureId={{child}}&action=delete",
      status: 400,
      field: "action",
    },
    {
      name: "an action in another letter case is 400",
      method: "GET",
      path: "/v1/check?userId={{alice}}&structureId={{child}}&action=Read",
      status: 400,
      field: "action",
    },
    {
      name: "a role instead of an action is 400",
      method: "GET",
      path: "/v1/check?userId={{alice}}&structureId={{child}}&action=admin",
      status: 400,
      field: "action",
    },
  );
  for (const id of ["abc", "999999", "007", "-1", "%20", "99999999999999999999", "0{{alice}}"]) {
    add(
      "GET /v1/check answers 404 for an unknown user or structure",
      {
        name: `userId=${id} is 404`,
        method: "GET",
        path: `/v1/check?userId=${id}&structureId={{child}}&action=read`,
        status: 404,
      },
      {
        name: `structureId=${id.replace("alice", "child")} is 404`,
        method: "GET",
        path: `/v1/check?userId={{alice}}&structureId=${id.replace("alice", "child")}&action=read`,
        status: 404,
      },
    );
  }

  for (const r of pagedRoutes) {
    for (const limit of badLimits) {
      add("limit outside 1..1000 or not an integer is 400", {
        name: `${r.label}?limit=${limit}`,
        method: "GET",
        path: `${r.path}limit=${limit}`,
        status: 400,
        field: "limit",
      });
    }
    for (const [what, cursor] of forgedCursors) {
      add("a cursor the server did not issue is 400", {
        name: `${r.label}: ${what}`,
        method: "GET",
        path: `${r.path}cursor=${encodeURIComponent(cursor)}`,
        status: 400,
        field: "cursor",
      });
    }
  }
  add(
    "other query parameters out of range are 400",
    ...["0", "-1", "abc", "1.5"].map(
      (v): Case => ({
        name: `descendants?maxDepth=${v}`,
        method: "GET",
        path: `/v1/structures/{{root}}/descendants?maxDepth=${v}`,
        status: 400,
        field: "maxDepth",
      }),
    ),
    ...["yes", "1", "TRUE"].map(
      (v): Case => ({
        name: `members?recursive=${v}`,
        method: "GET",
        path: `/v1/structures/{{root}}/members?recursive=${v}`,
        status: 400,
        field: "recursive",
      }),
    ),
    ...[
      "/v1/structures/{{root}}/principals",
      "/v1/users/{{alice}}/structures",
      "/v1/users/{{alice}}/visible-users",
    ].flatMap((path): Case[] =>
      ["delete", "READ", "viewer"].map((action) => ({
        name: `${path.replace(/\{\{\w+\}\}/, "{id}")}?action=${action}`,
        method: "GET",
        path: `${path}?action=${action}`,
        status: 400,
        field: "action",
      })),
    ),
  );

  for (const r of readRoutes) {
    const variants: [string, string, Record<string, string>][] = [
      ["minRevision from the future", "minRevision={{future}}", {}],
      ["Canopy-Min-Revision from the future", "", { "canopy-min-revision": "{{future}}" }],
      [
        "a future header beside a valid minRevision",
        "minRevision=1",
        { "canopy-min-revision": "{{future}}" },
      ],
      ["minRevision=abc", "minRevision=abc", {}],
      ["minRevision=-1", "minRevision=-1", {}],
      ["minRevision=1.5", "minRevision=1.5", {}],
      ["minRevision beyond 64 bits", "minRevision=99999999999999999999", {}],
      ["Canopy-Min-Revision: abc", "", { "canopy-min-revision": "abc" }],
    ];
    for (const [what, query, headers] of variants) {
      add("a minRevision from the future or not a decimal revision is 400", {
        name: `${r.label}: ${what}`,
        method: r.method,
        path: `${r.path}${query}`,
        ...(r.body === undefined ? {} : { body: r.body }),
        headers,
        status: 400,
        field: minRevisionField,
      });
    }
  }

  for (const r of idRoutes) {
    for (const id of unknownIds) {
      add("an id in the path that names nothing is 404", {
        name: `${r.label} with id "${id.replace("REAL", `{${r.real}}`)}"`,
        method: r.method,
        path: r.path.replace("ID", id.replace("REAL", `{{${r.real}}}`)),
        ...(r.body === undefined ? {} : { body: r.body }),
        status: 404,
      });
    }
  }

  const unknownBodyIds = [
    "abc",
    "999999",
    "007",
    "-1",
    " ",
    "99999999999999999999",
    "0{{root}}",
    "{{root}} ",
  ];
  for (const id of unknownBodyIds) {
    const label = id.replaceAll("{{root}}", "{root}");
    add(
      "an id in a body that names nothing is 422",
      {
        name: `POST /v1/structures with parentId "${label}"`,
        method: "POST",
        path: "/v1/structures",
        body: { name: "x", parentId: id },
        status: 422,
      },
      {
        name: `PATCH /v1/structures/{id} with parentId "${label}"`,
        method: "PATCH",
        path: "/v1/structures/{{leaf}}",
        body: { parentId: id },
        status: 422,
      },
      {
        name: `POST /v1/users with structureId "${label}"`,
        method: "POST",
        path: "/v1/users",
        body: { email: "new@x.test", name: "N", structureId: id },
        status: 422,
      },
      {
        name: `PATCH /v1/users/{id} with structureId "${label}"`,
        method: "PATCH",
        path: "/v1/users/{{bob}}",
        body: { structureId: id },
        status: 422,
      },
      {
        name: `POST /v1/permissions with structureId "${label}"`,
        method: "POST",
        path: "/v1/permissions",
        body: { userId: "{{bob}}", structureId: id, role: "viewer" },
        status: 422,
      },
      {
        name: `POST /v1/permissions with userId "${label}"`,
        method: "POST",
        path: "/v1/permissions",
        body: { userId: id.replace("root", "dave"), structureId: "{{sibling}}", role: "viewer" },
        status: 422,
      },
    );
  }
  add("an id in a body that names nothing is 422", {
    name: "POST /v1/permissions with both ids unknown",
    method: "POST",
    path: "/v1/permissions",
    body: { userId: "999999", structureId: "999998", role: "viewer" },
    status: 422,
  });

  add(
    "conflicts with the current state are 409",
    {
      name: "a second grant for the same user and structure",
      method: "POST",
      path: "/v1/permissions",
      body: { userId: "{{alice}}", structureId: "{{root}}", role: "viewer" },
      status: 409,
    },
    {
      name: "a second grant with the same role",
      method: "POST",
      path: "/v1/permissions",
      body: { userId: "{{alice}}", structureId: "{{root}}", role: "admin" },
      status: 409,
    },
    {
      name: "a new user with an existing email in upper case",
      method: "POST",
      path: "/v1/users",
      body: { email: "ALICE@X.TEST", name: "A2", structureId: "{{child}}" },
      status: 409,
    },
    {
      name: "a new user with an existing email in mixed case",
      method: "POST",
      path: "/v1/users",
      body: { email: "Alice@x.test", name: "A2", structureId: "{{child}}" },
      status: 409,
    },
    {
      name: "a new user with an existing externalId",
      method: "POST",
      path: "/v1/users",
      body: { email: "a2@x.test", name: "A2", structureId: "{{child}}", externalId: "ext-alice" },
      status: 409,
    },
    {
      name: "changing a user's email to another's in another case",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { email: "aLiCe@X.test" },
      status: 409,
    },
    {
      name: "changing a user's externalId to another's",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { externalId: "ext-alice" },
      status: 409,
    },
    {
      name: "a new structure with an existing externalId",
      method: "POST",
      path: "/v1/structures",
      body: { name: "x", externalId: "ext-root" },
      status: 409,
    },
    {
      name: "changing a structure's externalId to another's",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { externalId: "ext-root" },
      status: 409,
    },
    {
      name: "deleting a structure with children",
      method: "DELETE",
      path: "/v1/structures/{{root}}",
      status: 409,
    },
    {
      name: "deleting a structure with children and members",
      method: "DELETE",
      path: "/v1/structures/{{child}}",
      status: 409,
    },
    {
      name: "deleting a structure with members only",
      method: "DELETE",
      path: "/v1/structures/{{crowd}}",
      status: 409,
    },
    {
      name: "deleting a structure with grants only",
      method: "DELETE",
      path: "/v1/structures/{{sibling}}",
      status: 409,
    },
    {
      name: "moving a structure under itself",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { parentId: "{{child}}" },
      status: 409,
    },
    {
      name: "moving a root under itself",
      method: "PATCH",
      path: "/v1/structures/{{root}}",
      body: { parentId: "{{root}}" },
      status: 409,
    },
    {
      name: "moving a structure under its child",
      method: "PATCH",
      path: "/v1/structures/{{root}}",
      body: { parentId: "{{child}}" },
      status: 409,
    },
    {
      name: "moving a structure under its grandchild",
      method: "PATCH",
      path: "/v1/structures/{{root}}",
      body: { parentId: "{{grandchild}}" },
      status: 409,
    },
    {
      name: "moving a structure under its child, renaming it too",
      method: "PATCH",
      path: "/v1/structures/{{child}}",
      body: { name: "moved", parentId: "{{grandchild}}" },
      status: 409,
    },
  );

  const write = (name: string, extra: Partial<Case> & Pick<Case, "status">): Case => ({
    name,
    method: "POST",
    path: "/v1/structures",
    ...extra,
  });
  add(
    "the first applicable error in the order 401, 403, 415, 413, 400, 404, 409, 422 wins",
    write("no token and text/plain is 401", {
      token: null,
      contentType: "text/plain",
      raw: "x",
      status: 401,
    }),
    write("no token and a body over 1 MiB is 401", { token: null, raw: oversized, status: 401 }),
    write("no token and malformed JSON is 401", { token: null, raw: "{", status: 401 }),
    write("a Basic Authorization and an unknown field is 401", {
      authorization: "Basic YTpi",
      body: { name: "x", z: 1 },
      status: 401,
    }),
    {
      name: "no token on an unknown /v1 path is 401",
      method: "GET",
      path: "/v1/nothing-here",
      token: null,
      status: 401,
    },
    {
      name: "a malformed Authorization and limit=0 is 401",
      method: "GET",
      path: "/v1/structures?limit=0",
      authorization: "Bearer",
      status: 401,
    },
    write("a read token and malformed JSON is 403", { token: "read", raw: "{", status: 403 }),
    write("a read token and text/plain is 403", {
      token: "read",
      contentType: "text/plain",
      raw: "x",
      status: 403,
    }),
    write("a read token and a body over 1 MiB is 403", { token: "read", raw: oversized, status: 403 }),
    {
      name: "a read token on PATCH of an unknown id is 403",
      method: "PATCH",
      path: "/v1/structures/999999",
      body: { name: "x" },
      token: "read",
      status: 403,
    },
    {
      name: "a read token on DELETE of an unknown id is 403",
      method: "DELETE",
      path: "/v1/users/abc",
      token: "read",
      status: 403,
    },
    {
      name: "a profile-only token and limit=0 is 403",
      method: "GET",
      path: "/v1/structures?limit=0",
      token: "none",
      status: 403,
    },
    {
      name: "a profile-only token and a batch of 0 checks is 403",
      method: "POST",
      path: "/v1/check/batch",
      body: { checks: [] },
      token: "none",
      status: 403,
    },
    write("text/plain and a body over 1 MiB is 415", {
      contentType: "text/plain",
      raw: oversized,
      status: 415,
    }),
    write("charset=latin1 and malformed JSON is 415", {
      contentType: "application/json; charset=latin1",
      raw: "{",
      status: 415,
    }),
    {
      name: "text/plain on PATCH of an unknown id is 415",
      method: "PATCH",
      path: "/v1/users/999999",
      contentType: "text/plain",
      raw: "x",
      status: 415,
    },
    write("a body over 1 MiB that is also malformed is 413", { raw: oversizedMalformed, status: 413 }),
    {
      name: "a body over 1 MiB on PATCH of an unknown id is 413",
      method: "PATCH",
      path: "/v1/structures/999999",
      raw: oversized,
      status: 413,
    },
    {
      name: "malformed JSON on PATCH of an unknown structure is 400",
      method: "PATCH",
      path: "/v1/structures/999999",
      raw: "{",
      status: 400,
    },
    {
      name: "malformed JSON on PATCH of an unknown user is 400",
      method: "PATCH",
      path: "/v1/users/abc",
      raw: "{",
      status: 400,
    },
    {
      name: "malformed JSON on PATCH of an unknown grant is 400",
      method: "PATCH",
      path: "/v1/permissions/007",
      raw: "{",
      status: 400,
    },
    {
      name: "an empty name on PATCH of an unknown structure is 400",
      method: "PATCH",
      path: "/v1/structures/999999",
      body: { name: "" },
      status: 400,
      field: "name",
    },
    {
      name: "an unknown role on PATCH of an unknown grant is 400",
      method: "PATCH",
      path: "/v1/permissions/999999",
      body: { role: "owner" },
      status: 400,
      field: "role",
    },
    {
      name: "limit=0 on an unknown structure's members is 400",
      method: "GET",
      path: "/v1/structures/999999/members?limit=0",
      status: 400,
      field: "limit",
    },
    {
      name: "a forged cursor on an unknown user's structures is 400",
      method: "GET",
      path: "/v1/users/999999/structures?cursor=abc.def",
      status: 400,
      field: "cursor",
    },
    {
      name: "a future minRevision on an unknown grant is 400",
      method: "GET",
      path: "/v1/permissions/999999?minRevision={{future}}",
      status: 400,
      field: minRevisionField,
    },
    {
      name: "an unknown action for an unknown user on GET /v1/check is 400",
      method: "GET",
      path: "/v1/check?userId=999999&structureId=999999&action=fly",
      status: 400,
      field: "action",
    },
    {
      name: "an unknown structure and an unknown parentId on PATCH is 404",
      method: "PATCH",
      path: "/v1/structures/999999",
      body: { parentId: "999998" },
      status: 404,
    },
    {
      name: "an unknown structure and a taken externalId on PATCH is 404",
      method: "PATCH",
      path: "/v1/structures/999999",
      body: { externalId: "ext-root" },
      status: 404,
    },
    {
      name: "an unknown user, a taken email and an unknown structureId on PATCH is 404",
      method: "PATCH",
      path: "/v1/users/999999",
      body: { email: "alice@x.test", structureId: "999998" },
      status: 404,
    },
    {
      name: "an unknown grant on DELETE is 404 even for a write token",
      method: "DELETE",
      path: "/v1/permissions/999999",
      token: "write",
      status: 404,
    },
    write("a taken externalId and an unknown parentId on POST is 409", {
      body: { name: "x", externalId: "ext-root", parentId: "999999" },
      status: 409,
    }),
    {
      name: "a taken externalId and an unknown parentId on PATCH is 409",
      method: "PATCH",
      path: "/v1/structures/{{leaf}}",
      body: { externalId: "ext-root", parentId: "999999" },
      status: 409,
    },
    {
      name: "a taken email and an unknown structureId on POST is 409",
      method: "POST",
      path: "/v1/users",
      body: { email: "ALICE@x.test", name: "A", structureId: "999999" },
      status: 409,
    },
    {
      name: "a taken user externalId and an unknown structureId on POST is 409",
      method: "POST",
      path: "/v1/users",
      body: { email: "fresh@x.test", name: "F", structureId: "999999", externalId: "ext-alice" },
      status: 409,
    },
    {
      name: "a taken email and an unknown structureId on PATCH is 409",
      method: "PATCH",
      path: "/v1/users/{{bob}}",
      body: { email: "alice@X.test", structureId: "abc" },
      status: 409,
    },
  );
  return cases;
}

const groups = Object.entries(buildCases());

describe.each(backends)("bad input on %s", (backend) => {
  let api: TestApp;
  let sqlClient: pg.Client | undefined;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    api = await startTestApp(backend);
    const structure = async (key: string, parent: string | null, externalId?: string) => {
      const res = await api.post("/v1/structures", {
        name: key,
        parentId: parent === null ? null : ids[parent],
        ...(externalId ? { externalId } : {}),
      });
      expect(res.status).toBe(201);
      ids[key] = res.body.id;
    };
    await structure("root", null, "ext-root");
    await structure("child", "root");
    await structure("grandchild", "child");
    await structure("sibling", "root");
    await structure("crowd", "root");
    await structure("other", null);
    await structure("leaf", "root");
    const user = async (key: string, structureKey: string, externalId?: string) => {
      const res = await api.post("/v1/users", {
        email: `${key}@x.test`,
        name: key,
        structureId: ids[structureKey],
        ...(externalId ? { externalId } : {}),
      });
      expect(res.status).toBe(201);
      ids[key] = res.body.id;
    };
    await user("alice", "child", "ext-alice");
    await user("bob", "child");
    await user("carol", "crowd");
    await user("dave", "other");
    const grant = async (key: string, userKey: string, structureKey: string, role: string) => {
      const res = await api.post("/v1/permissions", {
        userId: ids[userKey],
        structureId: ids[structureKey],
        role,
      });
      expect(res.status).toBe(201);
      ids[key] = res.body.id;
    };
    await grant("grantAliceRoot", "alice", "root", "admin");
    await grant("grantBobRoot", "bob", "root", "viewer");
    await grant("grantAliceSibling", "alice", "sibling", "viewer");
    await grant("grantCarolOther", "carol", "other", "editor");
    await grant("grantDave", "dave", "other", "viewer");
    if (api.databaseUrl) {
      sqlClient = new pg.Client({ connectionString: api.databaseUrl });
      await sqlClient.connect();
    }
  });
  afterAll(async () => {
    await sqlClient?.end();
    await api?.close();
  });

  function resolve(text: string, vars: Record<string, string> = {}): string {
    return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
      const value = vars[key] ?? ids[key];
      if (value === undefined) throw new Error(`no fixture named ${key}`);
      return value;
    });
  }
  function resolveDeep(value: unknown, vars: Record<string, string>): unknown {
    if (typeof value === "string") return resolve(value, vars);
    if (Array.isArray(value)) return value.map((x) => resolveDeep(x, vars));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveDeep(v, vars)]));
    }
    return value;
  }

  async function send(c: Call, vars: Record<string, string> = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    const token = c.token === undefined ? "admin" : c.token;
    if (c.authorization !== undefined) headers.authorization = c.authorization;
    else if (token !== null) headers.authorization = `Bearer ${api.tokens[token]}`;
    let body: Uint8Array | undefined;
    if (c.raw !== undefined) {
      body =
        typeof c.raw === "string"
          ? encoder.encode(c.raw.length > 10_000 ? c.raw : resolve(c.raw, vars))
          : c.raw;
    } else if (c.body !== undefined) {
      body = encoder.encode(JSON.stringify(resolveDeep(c.body, vars)));
    }
    // Bytes, never a string: a string body would get a text/plain Content-Type of its own.
    if (c.contentType !== undefined) {
      if (c.contentType !== null) headers["content-type"] = c.contentType;
    } else if (body !== undefined) {
      headers["content-type"] = "application/json";
    }
    for (const [name, value] of Object.entries(c.headers ?? {})) headers[name] = resolve(value, vars);
    const res = await api.app.request(resolve(c.path, vars), { method: c.method, headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  }

  /** Everything a failed request must leave alone: every row, and the revision. */
  async function snapshot() {
    const list = async (path: string) => {
      const res = await api.get(`${path}?limit=1000`);
      expect(res.status).toBe(200);
      expect(res.body.nextCursor).toBeNull();
      return { items: res.body.items as unknown[], revision: res.headers.get("canopy-revision") };
    };
    const [structures, users, grants] = await Promise.all([
      list("/v1/structures"),
      list("/v1/users"),
      list("/v1/permissions"),
    ]);
    const state: Record<string, unknown> = {
      structures: structures.items,
      users: users.items,
      grants: grants.items,
      revision: structures.revision,
    };
    expect(structures.revision).toMatch(/^\d+$/);
    if (sqlClient) {
      const { rows } = await sqlClient.query(
        `SELECT (SELECT value::text FROM canopy_revision) AS revision,
                (SELECT count(*)::int FROM canopy_change_log) AS changes,
                (SELECT count(*)::int FROM hierarchy_structures) AS structures,
                (SELECT count(*)::int FROM users) AS users,
                (SELECT count(*)::int FROM permissions) AS grants,
                (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t.id), '')) FROM hierarchy_structures t) AS structures_digest,
                (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t.id), '')) FROM users t) AS users_digest,
                (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t.id), '')) FROM permissions t) AS grants_digest`,
      );
      state.sql = rows[0];
    }
    return state;
  }

  function expectProblem(res: Reply, c: Pick<Case, "status" | "field" | "raw">) {
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: expect.any(String),
      title: expect.any(String),
      status: res.status,
      detail: expect.any(String),
    });
    expect(res.text).not.toMatch(leaks);
    if (res.status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
    if (res.status === 413) expect(res.headers.get("connection")).toBe("close");
    if (c.field !== undefined) {
      // A validation 400 says what is wrong, where.
      expect(res.body.errors).toBeInstanceOf(Array);
      expect(res.body.errors.length).toBeGreaterThan(0);
      for (const e of res.body.errors)
        expect(e).toEqual({ path: expect.any(String), message: expect.any(String) });
      const said = res.body.errors
        .map((e: { path: string; message: string }) => `${e.path} ${e.message}`)
        .join("\n");
      expect(said).toMatch(c.field);
    }
  }

  describe.each(groups)("%s", (_group, cases) => {
    it.each(cases)("$name", async (c) => {
      const before = await snapshot();
      const future = String(BigInt(before.revision as string) + 1000n);
      const res = await send(c, { future });
      expect({ status: res.status, body: res.body }).toMatchObject({ status: c.status });
      expectProblem(res, c);
      expect(await snapshot()).toEqual(before);
    });
  });

  describe("cursors are bound to the route, path ids and filters they were issued for", () => {
    /** A real cursor: the nextCursor of a first page of one item. */
    async function cursorOf(path: string): Promise<string> {
      const res = await send({ method: "GET", path: `${path}${path.includes("?") ? "&" : "?"}limit=1` });
      expect(res.status).toBe(200);
      expect(res.body.nextCursor).toEqual(expect.any(String));
      return res.body.nextCursor as string;
    }
    const use = (path: string, cursor: string, limit = 1): Call => ({
      method: "GET",
      path: `${path}${path.includes("?") ? "&" : "?"}limit=${limit}&cursor=${encodeURIComponent(cursor)}`,
    });

    it.each(pagedRoutes)(
      "a cursor from $label is accepted again on the same route and filters, also with another limit",
      async (r) => {
        const cursor = await cursorOf(r.path);
        const again = await send(use(r.path, cursor));
        expect(again.status).toBe(200);
        const wider = await send(use(r.path, cursor, 2));
        expect(wider.status).toBe(200);
      },
    );

    const misuse: [string, string, string][] = [
      ["/v1/structures", "/v1/users", "on another route"],
      ["/v1/users", "/v1/structures/{{child}}/members", "on another route listing the same kind of items"],
      ["/v1/structures", "/v1/structures?parentId=root", "with a parentId filter it was not issued with"],
      [
        "/v1/structures?parentId=root",
        "/v1/structures?parentId={{root}}",
        "with parentId=<id> instead of parentId=root",
      ],
      ["/v1/structures?parentId={{root}}", "/v1/structures?parentId={{other}}", "with another parentId"],
      ["/v1/structures/{{root}}/descendants", "/v1/structures/{{child}}/descendants", "with another path id"],
      [
        "/v1/structures/{{root}}/descendants",
        "/v1/structures/{{root}}/descendants?maxDepth=1",
        "with a maxDepth it was not issued with",
      ],
      [
        "/v1/structures/{{root}}/descendants",
        "/v1/structures/{{root}}/members",
        "on a sibling route with the same path id",
      ],
      [
        "/v1/structures/{{child}}/members",
        "/v1/structures/{{child}}/members?recursive=true",
        "with recursive=true instead of false",
      ],
      ["/v1/structures/{{child}}/members", "/v1/structures/{{root}}/members", "with another path id"],
      [
        "/v1/structures/{{root}}/principals",
        "/v1/structures/{{root}}/principals?action=write",
        "with action=write instead of read",
      ],
      [
        "/v1/structures/{{root}}/principals?action=read",
        "/v1/structures/{{sibling}}/principals?action=read",
        "with another path id",
      ],
      ["/v1/users", "/v1/users?structureId={{child}}", "with a structureId filter it was not issued with"],
      ["/v1/users?structureId={{child}}", "/v1/users?structureId={{crowd}}", "with another structureId"],
      [
        "/v1/users/{{alice}}/structures",
        "/v1/users/{{alice}}/structures?action=write",
        "with action=write instead of read",
      ],
      ["/v1/users/{{alice}}/structures", "/v1/users/{{bob}}/structures", "with another path id"],
      [
        "/v1/users/{{alice}}/visible-users",
        "/v1/users/{{alice}}/visible-users?action=manage",
        "with action=manage instead of read",
      ],
      [
        "/v1/users/{{alice}}/visible-users",
        "/v1/users/{{alice}}/structures",
        "on a sibling route with the same path id",
      ],
      ["/v1/permissions", "/v1/permissions?userId={{alice}}", "with a userId filter it was not issued with"],
      [
        "/v1/permissions?userId={{alice}}",
        "/v1/permissions?userId={{alice}}&structureId={{root}}",
        "with an added structureId filter",
      ],
      [
        "/v1/permissions?structureId={{root}}",
        "/v1/permissions?structureId={{other}}",
        "with another structureId",
      ],
    ];
    it.each(misuse)("a cursor from %s is 400 on %s (%s)", async (issuedOn, usedOn) => {
      const cursor = await cursorOf(issuedOn);
      const before = await snapshot();
      const res = await send(use(usedOn, cursor));
      expect(res.status).toBe(400);
      expectProblem(res, { status: 400, field: "cursor" });
      expect(await snapshot()).toEqual(before);
    });

    it.each(pagedRoutes)("every alteration of a real cursor from $label is 400", async (r) => {
      const cursor = await cursorOf(r.path);
      const altered = new Set<string>();
      for (let i = 0; i < cursor.length; i++) {
        const at = alphabet.indexOf(cursor[i] as string);
        // The neighbouring letter: it differs in the lowest bit only, the one base64 padding hides.
        const flipped = at === -1 ? "A" : alphabet[at ^ 1];
        altered.add(`${cursor.slice(0, i)}${flipped}${cursor.slice(i + 1)}`);
      }
      const dot = cursor.indexOf(".");
      altered.add(`${cursor}=`);
      altered.add(`${cursor.slice(0, dot)}=${cursor.slice(dot)}`);
      altered.add(`${cursor.slice(0, 1)}!${cursor.slice(1)}`);
      altered.add(`${cursor.slice(0, dot + 3)}!${cursor.slice(dot + 3)}`);
      altered.add(`${cursor} `);
      altered.add(`${cursor}A`);
      altered.add(cursor.slice(0, -1));
      altered.add(`${cursor}.`);
      altered.delete(cursor);
      const accepted: string[] = [];
      for (const variant of altered) {
        const res = await send(use(r.path, variant));
        if (res.status !== 400) accepted.push(`${variant} -> ${res.status}`);
        else expectProblem(res, { status: 400, field: "cursor" });
      }
      expect(accepted, `altered cursors accepted (original ${cursor})`).toEqual([]);
    });
  });

  it("a check batch may name unknown users and structures: those items answer not_found, in order", async () => {
    const res = await send({
      method: "POST",
      path: "/v1/check/batch",
      body: {
        checks: [
          { userId: "{{alice}}", structureId: "{{child}}", action: "write" },
          { userId: "abc", structureId: "{{child}}", action: "read" },
          { userId: "{{alice}}", structureId: "007", action: "read" },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { allowed: true, role: "admin", grantedAt: ids.root },
      { allowed: false, role: null, grantedAt: null, error: "not_found" },
      { allowed: false, role: null, grantedAt: null, error: "not_found" },
    ]);
  });

  it.each([...readRoutes.map((r) => ({ ...r, path: `${r.path}color=red&limit=5&Limit=0` }))])(
    "$label ignores unknown query parameters",
    async (r) => {
      const res = await send({
        method: r.method,
        path: r.path,
        ...(r.body === undefined ? {} : { body: r.body }),
      });
      expect(res.status).toBe(200);
    },
  );

  it("a JSON Content-Type in another letter case or with a quoted UTF-8 charset is accepted", async () => {
    for (const contentType of [
      "Application/JSON",
      'application/json; charset="UTF-8"',
      "application/json;charset=utf-8",
    ]) {
      const res = await send({
        method: "POST",
        path: "/v1/check/batch",
        body: { checks: [{ userId: "{{alice}}", structureId: "{{root}}", action: "manage" }] },
        contentType,
      });
      expect(res.status, contentType).toBe(200);
    }
  });

  describe("over a real socket", () => {
    let base: string;
    beforeAll(async () => {
      base = await api.listen();
    });

    /** One raw HTTP/1.1 exchange; the server may answer before the whole body is sent. */
    function exchange(
      path: string,
      body: Buffer,
      headers: Record<string, string>,
    ): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
      return new Promise((resolvePromise, reject) => {
        let answered = false;
        const req = httpRequest(`${base}${path}`, { method: "POST", headers, agent: false }, (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolvePromise({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString(),
            }),
          );
          res.on("error", reject);
        });
        req.on("error", (err) => {
          if (!answered) reject(err);
        });
        req.end(body);
      });
    }

    it.each([
      ["with a Content-Length", true],
      ["chunked, without a Content-Length", false],
    ])(
      "a body over 1 MiB sent %s is 413 with Connection: close, and the next request on a fresh connection works",
      async (_what, withLength) => {
        const before = await snapshot();
        const body = Buffer.from(oversized);
        const headers: Record<string, string> = {
          authorization: `Bearer ${api.tokens.admin}`,
          "content-type": "application/json",
          ...(withLength ? { "content-length": String(body.length) } : { "transfer-encoding": "chunked" }),
        };
        const res = await exchange("/v1/structures", body, headers);
        expect(res.status).toBe(413);
        expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
        expect(res.headers.connection).toBe("close");
        expect(JSON.parse(res.text)).toMatchObject({ status: 413 });
        const next = await fetch(`${base}/v1/structures?limit=1`, {
          headers: { authorization: `Bearer ${api.tokens.admin}` },
        });
        expect(next.status).toBe(200);
        await next.text();
        expect(await snapshot()).toEqual(before);
      },
    );
  });
});
