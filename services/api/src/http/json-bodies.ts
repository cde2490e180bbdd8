import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { badRequest, DomainError } from "../domain/errors.ts";
import { header } from "./headers.ts";

/** `application/json`, with no charset or UTF-8: the only body the API takes. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const [type, ...params] = header.split(";").map((x) => x.trim().toLowerCase());
  if (type !== "application/json") return false;
  const charset = params
    .find((x) => x.startsWith("charset="))
    ?.slice("charset=".length)
    .replaceAll('"', "");
  return charset === undefined || charset === "utf-8" || charset === "utf8";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Body-carrying requests (POST, PUT, PATCH: the app mounts it on those): 415 unless JSON, then
 * 413 past the size limit (the contract ranks 415 above 413), counted from Content-Length or,
 * when chunked, while reading; then 400 for bytes that are not UTF-8, which a lenient decoder
 * would otherwise store as U+FFFD.
 */
export function jsonBodies(maxBytes: number): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new DomainError("payload_too_large", `the body exceeds ${maxBytes} bytes`);
    },
  });
  return function jsonBodies(c, next) {
    if (!isJsonContentType(header(c, "content-type"))) {
      throw new DomainError("unsupported_media_type", "the body must be application/json (UTF-8)");
    }
    return limit(c, async () => {
      try {
        utf8.decode(await c.req.arrayBuffer());
      } catch {
        throw badRequest("the request body is not valid UTF-8");
      }
      await next();
    });
  };
}
