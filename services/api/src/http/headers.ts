import type { IncomingMessage } from "node:http";
import type { Context } from "hono";

/**
 * A request header, read from Node's parsed headers when the request came through the Node
 * server: asking the Fetch Request instead makes the adapter build a Headers object for every
 * request, which costs a cached check a noticeable share of its time. Names are lower case.
 */
export function header(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
