import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "hono";

type NodeBindings = { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;

/**
 * A request header, read from Node's parsed headers when the request came through the Node
 * server: asking the Fetch Request instead makes the adapter build a Headers object for every
 * request, which costs a cached check a noticeable share of its time. Names are lower case.
 */
export function header(c: Context, name: string): string | undefined {
  const incoming = (c.env as NodeBindings)?.incoming;
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/**
 * Sets a header every answer carries, whatever route or error produced it, on Node's response,
 * which merges it with the answer's own headers when they are written: `c.header()` would turn
 * every answer's headers into a Fetch Headers object. False when there is no Node response (an
 * in-process `app.request()`): the answer itself must then carry it.
 */
export function setOnNodeResponse(c: Context, name: string, value: string): boolean {
  const outgoing = (c.env as NodeBindings)?.outgoing;
  if (!outgoing?.setHeader) return false;
  outgoing.setHeader(name, value);
  return true;
}
