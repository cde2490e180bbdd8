import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DomainError, type DomainErrorKind, type FieldError } from "../domain/errors.ts";
import type { Logger } from "../observability/logger.ts";

const statusOf: Record<DomainErrorKind, ContentfulStatusCode> = {
  unauthorized: 401,
  forbidden: 403,
  unsupported_media_type: 415,
  payload_too_large: 413,
  bad_request: 400,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  unavailable: 503,
};

const titleOf: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export type Problem = { type: string; title: string; status: number; detail: string; errors?: FieldError[] };

export function problemBody(status: number, detail: string, errors?: FieldError[]): Problem {
  const title = titleOf[status] ?? "Error";
  const type = `https://canopy.dev/problems/${title.toLowerCase().replaceAll(" ", "-")}`;
  return { type, title, status, detail, ...(errors ? { errors } : {}) };
}

export function problemResponse(
  c: Context,
  status: ContentfulStatusCode,
  detail: string,
  errors?: FieldError[],
) {
  if (status === 401) c.header("WWW-Authenticate", 'Bearer realm="canopy"');
  if (status === 403) c.header("WWW-Authenticate", 'Bearer realm="canopy", error="insufficient_scope"');
  // The node adapter keeps a 413 connection open after refusing the body, then drops it; close it cleanly.
  if (status === 413) c.header("Connection", "close");
  c.header("Cache-Control", "no-store");
  return c.body(JSON.stringify(problemBody(status, detail, errors)), status, {
    "Content-Type": "application/problem+json",
  });
}

/** Node and Postgres error codes that mean the database cannot be reached or is going away. */
const unavailableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EPIPE",
  "57P01",
  "57P02",
  "57P03",
  "53300",
]);
function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (typeof e.code === "string" && (unavailableCodes.has(e.code) || e.code.startsWith("08"))) return true;
  if (
    typeof e.message === "string" &&
    /timeout exceeded when trying to connect|Connection terminated/i.test(e.message)
  ) {
    return true;
  }
  return e.cause !== undefined && e.cause !== err && isUnavailable(e.cause);
}

/** The one place errors become HTTP answers; nothing internal ever reaches the body. */
export function onError(logger: (c: Context) => Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof DomainError) return problemResponse(c, statusOf[err.kind], err.message, err.errors);
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      const detail =
        status === 400 ? "the request body is not valid JSON" : (titleOf[status] ?? "request refused");
      return problemResponse(c, status, detail);
    }
    if (isUnavailable(err)) {
      logger(c).warn({ err }, "dependency unavailable");
      return problemResponse(c, 503, "a dependency of this request is unavailable; retry later");
    }
    logger(c).error({ err }, "unhandled error");
    return problemResponse(c, 500, "an unexpected error occurred");
  };
}
