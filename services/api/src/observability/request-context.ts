import { AsyncLocalStorage } from "node:async_hooks";

export type RequestContext = { requestId: string; traceId: string | undefined };

/**
 * The request a piece of work belongs to, followed across awaits, so lines logged far from the
 * HTTP layer (a slow statement, say) carry the request and trace ids even when no tracing SDK
 * tracks the active span.
 */
const store = new AsyncLocalStorage<RequestContext>();

export const currentRequest = () => store.getStore();
export const withRequest = <T>(ctx: RequestContext, fn: () => T): T => store.run(ctx, fn);
