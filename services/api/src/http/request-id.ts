import { randomUUID } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { header, setOnNodeResponse } from "./headers.ts";

/** The caller's X-Request-Id when it is short and plain, else a new one. */
export function requestIdOf(c: Context): string {
  const given = header(c, "x-request-id");
  return given && given.length <= 255 && !/[^\w\-=]/.test(given) ? given : randomUUID();
}

/** Hono's requestId, reading and answering through Node's own headers (see headers.ts). */
export function requestId(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return function requestId(c, next) {
    const id = requestIdOf(c);
    c.set("requestId", id);
    if (setOnNodeResponse(c, "X-Request-Id", id)) return next();
    return next().then(() => c.res.headers.set("X-Request-Id", id));
  };
}
