import { OpenAPIHono } from "@hono/zod-openapi";
import { authenticate } from "./auth/middleware.ts";
import { jsonBodies } from "./http/json-bodies.ts";
import { observe, requestFields } from "./http/observe.ts";
import { onError, problemResponse } from "./http/problem.ts";
import { requestId } from "./http/request-id.ts";
import { checkRoutes } from "./routes/checks.ts";
import { operationRoutes } from "./routes/operations.ts";
import { permissionRoutes } from "./routes/permissions.ts";
import { structureRoutes } from "./routes/structures.ts";
import { userRoutes } from "./routes/users.ts";
import { invalidRequest } from "./routes/validation.ts";
import { withWarmChecks } from "./routes/warm-check.ts";
import type { AppEnv, Services } from "./services.ts";

export const maxBodyBytes = 1024 * 1024;

type AppOptions = { slowRequestMs?: number };

/** Builds the HTTP app over ready-made services; importing this file starts nothing. */
export function createApp(services: Services, options: AppOptions = {}) {
  return withWarmChecks(createFullApp(services, options), services, options.slowRequestMs ?? 100);
}

/** Every route behind the whole middleware chain: the app without its warm path for checks. */
export function createFullApp(services: Services, options: AppOptions = {}) {
  const slowMs = options.slowRequestMs ?? 100;
  const app = new OpenAPIHono<AppEnv>({
    // Request validation failures (query, path, headers, body) become one 400 problem.
    defaultHook: (result) => {
      if (!result.success) throw invalidRequest(result.target, result.error.issues);
    },
  });

  app.use(requestId());
  app.use(function inject(c, next) {
    c.set("services", services);
    return next();
  });
  app.use(observe(slowMs));
  app.route("/", operationRoutes);

  // Order matters: the contract ranks 401, 403, 415, 413, then 400 and the rest.
  app.use("/v1/*", authenticate(services.verifyToken));
  app.on(["POST", "PUT", "PATCH"], "/v1/*", jsonBodies(maxBodyBytes));
  app.route("/", structureRoutes);
  app.route("/", userRoutes);
  app.route("/", permissionRoutes);
  app.route("/", checkRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "scope claim: canopy:read, canopy:write (implies read) or canopy:admin (implies both)",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Canopy",
      version: "1.0.0",
      description:
        "Hierarchical permissions: may a user act on part of the organisation tree, and what can they see?",
    },
  });

  app.notFound((c) => problemResponse(c, 404, `no route for ${c.req.method} ${c.req.path}`));
  // Errors are rare: their lines get a child logger carrying the request's ids.
  app.onError(onError((c) => services.logger.child(requestFields(c))));
  return app;
}

export type App = ReturnType<typeof createApp>;
