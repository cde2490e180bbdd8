import { hash } from "node:crypto";
import { createRoute, type RouteConfig, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Page } from "../db/fragments.ts";
import type { PageRequest } from "../db/queries/page.ts";
import type { Committed } from "../db/writes/commit.ts";
import type { CursorBinding } from "../domain/cursor.ts";
import { notFound } from "../domain/errors.ts";
import { header } from "../http/headers.ts";
import type { AppEnv } from "../services.ts";
import { Problem } from "./schemas.ts";

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: Problem } },
});

const errors = {
  400: problem("Malformed or invalid request"),
  401: problem("Missing or invalid bearer token"),
  403: problem("The token lacks the scope this route needs"),
  503: problem("A dependency is unavailable"),
} as const;
const bodyErrors = {
  413: problem("Body over 1 MiB"),
  415: problem("Body is not application/json"),
} as const;

/** A /v1 route: bearer security and the error answers every route can give. */
export function v1Route<R extends RouteConfig>(config: R) {
  const hasBody = config.request?.body !== undefined;
  return createRoute({
    ...config,
    security: [{ bearer: [] }],
    responses: {
      ...errors,
      ...(hasBody ? bodyErrors : {}),
      404: problem("An id in the path names nothing"),
      ...config.responses,
    },
  });
}

export const conflictResponse = problem("Conflicts with the current state");
export const unprocessableResponse = problem("The body names an id that does not exist");

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});
export const jsonResponse = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  content: { "application/json": { schema } },
});

type ReadInput = {
  query?: { minRevision?: string | undefined };
  header?: { "canopy-min-revision"?: string };
};

/** The revision a read must reflect: the larger of the query parameter and the header. */
export function minRevisionOf(input: ReadInput): string | undefined {
  const a = input.query?.minRevision;
  const b = input.header?.["canopy-min-revision"];
  if (a === undefined || b === undefined) return a ?? b;
  return BigInt(a) >= BigInt(b) ? a : b;
}

/** Where this read goes: a replica only when it reflects what the read must. */
export const readerFor = (c: Context<AppEnv>, input: ReadInput) =>
  c.get("services").db.reader(minRevisionOf(input));

/** The query-cache key of a page: the route, its path id and filters, where it resumes and its size. */
export const pageKey = (binding: CursorBinding, page: PageRequest) =>
  JSON.stringify([binding.route, binding.params ?? {}, page.after, page.limit]);

/** Resumes where the cursor points, refusing cursors issued for another route or filters. */
export function pageRequest(
  c: Context<AppEnv>,
  binding: CursorBinding,
  input: ReadInput & { query: { limit: number; cursor?: string | undefined } },
): PageRequest {
  const { cursor, limit } = input.query;
  const after = cursor === undefined ? null : c.get("services").cursors.decode(binding, cursor);
  return { after, limit, minRevision: minRevisionOf(input) };
}

/**
 * A successful read: the revision it reflects, and HTTP caching as the contract sets it.
 * Clients may keep answers but must revalidate (no-cache), shared caches must not keep them
 * (private), and the ETag is a hash of the body, so it changes whenever the answer does.
 * The headers go as a plain record, which the Node adapter writes as it is (see headers.ts).
 */
export function sendRead<T extends object>(c: Context<AppEnv>, body: T, revision: string) {
  const json = JSON.stringify(body);
  const etag = `"${hash("sha1", json, "base64url")}"`;
  const headers: Record<string, string> = {
    // Set by the request-id middleware too; in the record, the warm path needs no other header.
    "X-Request-Id": c.get("requestId"),
    "Canopy-Revision": revision,
    ETag: etag,
    "Cache-Control": "private, no-cache",
    Vary: "Authorization",
  };
  const ifNoneMatch = header(c, "if-none-match");
  if (
    ifNoneMatch &&
    (ifNoneMatch.trim() === "*" || ifNoneMatch.split(",").some((t) => t.trim().replace(/^W\//, "") === etag))
  ) {
    return new Response(null, { status: 304, headers });
  }
  headers["Content-Type"] = "application/json";
  return new Response(json, { status: 200, headers }) as unknown as ReturnType<typeof c.json<T, 200>>;
}

export function sendPage<T>(
  c: Context<AppEnv>,
  binding: CursorBinding,
  page: Page<T>,
  what?: [string, string],
) {
  if (what && !page.found) throw notFound(what[0], what[1]);
  const nextCursor = page.nextKey === null ? null : c.get("services").cursors.encode(binding, page.nextKey);
  return sendRead(c, { items: page.items, nextCursor }, page.revision);
}

export function sendOne<T>(
  c: Context<AppEnv>,
  answer: { item: T | null; revision: string },
  what: [string, string],
) {
  if (answer.item === null) throw notFound(what[0], what[1]);
  return sendRead(c, answer.item as T & object, answer.revision);
}

export function sendWritten<T extends object>(
  c: Context<AppEnv>,
  status: 200 | 201,
  committed: Committed<T>,
) {
  c.header("Canopy-Revision", committed.revision);
  c.header("Cache-Control", "no-store");
  return c.json({ ...committed.value, revision: committed.revision }, status);
}

export function sendDeleted(c: Context<AppEnv>, committed: Committed<unknown>) {
  c.header("Canopy-Revision", committed.revision);
  return c.body(null, 204);
}
