import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { badRequest } from "../domain/errors.ts";
import { header } from "../http/headers.ts";

type Issue = { path: PropertyKey[]; message: string };

/** A part of the request that failed its schema: the one 400 problem every route answers. */
export function invalidRequest(target: string, issues: readonly Issue[]) {
  const where = target === "json" ? "body" : target;
  return badRequest(
    `the request ${where} is not valid`,
    issues.map((i) => ({ path: [where, ...i.path.map(String)].join("."), message: i.message })),
  );
}

function parsed<T extends z.ZodType>(schema: T, value: unknown, target: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidRequest(target, result.error.issues);
  return result.data;
}

/**
 * The query, validated in the handler rather than by the route's validator middleware, for the
 * hot path: the same value the middleware would validate (a repeated name becomes an array,
 * which the schemas refuse), the same 400 on failure, without the middleware's per-request
 * promises and Fetch Headers.
 */
export function validQuery<T extends z.ZodType>(c: Context, schema: T): z.output<T> {
  const value: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    value[name] = values.length === 1 ? (values[0] as string) : values;
  }
  return parsed(schema, value, "query");
}

/** The headers a route's header schema names (in lower case), validated as the middleware would. */
export function validHeaders<T extends z.ZodObject>(c: Context, schema: T): z.output<T> {
  const value: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const v = header(c, name);
    if (v !== undefined) value[name] = v;
  }
  return parsed(schema, value, "header");
}
