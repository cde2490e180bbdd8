import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";
import { mergePatch, type Obj } from "./fields.ts";
import { apiVersionOf, builtIn, canopy, type Resource } from "./resources.ts";
import { ApiError, matches, Store, type Stored, type WatchEvent } from "./store.ts";

/**
 * A fake Kubernetes API server that speaks real HTTP, so the real @kubernetes/client-node runs
 * against it: discovery, get, list, watch (from a resourceVersion), create, replace (409 on a
 * stale resourceVersion), JSON merge patch, server-side apply (application/apply-patch+yaml,
 * field managers, 409 on conflicts unless forced), the status subresource, and deletion with
 * ownerReference cascade. It runs no workloads: tests (or `simulate`) play the controllers.
 */
export class FakeApiServer {
  readonly store = new Store();
  private server?: Server;
  private readonly watches = new Set<ServerResponse>();
  url = "";
  /** Requests seen, "METHOD path content-type", for assertions on what the client sent. */
  readonly requests: string[] = [];
  /** Who did what, in RBAC terms (user = the kubeconfig's token). */
  readonly audit: AuditEntry[] = [];

  constructor(readonly resources: Resource[] = [...builtIn, ...canopy]) {
    this.store.resources = resources;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop() {
    for (const w of this.watches) w.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** A kubeconfig for this server; `user` names the caller in the audit log. */
  kubeConfig(user = "test"): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "test", token: user }],
      contexts: [{ name: "fake", cluster: "fake", user: "test", namespace: "default" }],
      currentContext: "fake",
    });
    return kc;
  }

  resource(apiVersion: string, kind: string): Resource {
    const r = this.resources.find((x) => apiVersionOf(x) === apiVersion && x.kind === kind);
    if (!r) throw new Error(`the fake API server does not serve ${apiVersion} ${kind}`);
    return r;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://fake");
    this.requests.push(`${req.method} ${url.pathname} ${req.headers["content-type"] ?? ""}`);
    try {
      const body = await readBody(req);
      const user = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      const answer = this.route(req.method ?? "GET", url, req.headers["content-type"] ?? "", body, res, user);
      if (answer) send(res, answer.code, answer.body);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, "InternalError", String(err));
      send(res, e.code, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: e.message,
        reason: e.reason,
        code: e.code,
      });
    }
  }

  private route(
    method: string,
    url: URL,
    contentType: string,
    body: string,
    res: ServerResponse,
    user: string,
  ) {
    const parts = url.pathname.split("/").filter(Boolean);
    // Discovery: /api/v1 and /apis/<group>/<version>.
    const [root] = parts;
    const gvLength = root === "api" ? 2 : 3;
    const apiVersion = root === "api" ? parts[1] : `${parts[1]}/${parts[2]}`;
    if (parts.length === gvLength && method === "GET") {
      const resources = this.resources.filter((r) => apiVersionOf(r) === apiVersion);
      if (resources.length === 0)
        throw new ApiError(404, "NotFound", "the server could not find the requested resource");
      return {
        code: 200,
        body: {
          kind: "APIResourceList",
          apiVersion: "v1",
          groupVersion: apiVersion,
          resources: resources.flatMap((r) => [
            {
              name: r.plural,
              singularName: r.kind.toLowerCase(),
              namespaced: r.namespaced,
              kind: r.kind,
              verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
            },
            ...(r.status
              ? [
                  {
                    name: `${r.plural}/status`,
                    singularName: "",
                    namespaced: r.namespaced,
                    kind: r.kind,
                    verbs: ["get", "patch", "update"],
                  },
                ]
              : []),
          ]),
        },
      };
    }
    let rest = parts.slice(gvLength);
    let namespace: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, subresource] = rest as [string, string | undefined, string | undefined];
    const resource = this.resources.find((r) => apiVersionOf(r) === apiVersion && r.plural === plural);
    if (!resource || (subresource && subresource !== "status")) {
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    }
    const status = subresource === "status" ? ("status" as const) : undefined;
    if (status && !resource.status) throw new ApiError(404, "NotFound", "no status subresource");
    const manager = url.searchParams.get("fieldManager") ?? "unknown";
    const verb =
      method === "GET"
        ? name
          ? "get"
          : ["true", "1"].includes(url.searchParams.get("watch") ?? "")
            ? "watch"
            : "list"
        : ({ POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" } as Record<string, string>)[
            method
          ];
    const audit = (v: string | undefined) =>
      v &&
      this.audit.push({
        user,
        verb: v,
        group: resource.group,
        resource: subresource ? `${plural}/${subresource}` : plural,
        namespace,
      });
    audit(verb);
    // An apply that creates the object needs the create permission too.
    if (method === "PATCH" && !status && name && !this.store.get(resource, namespace, name)) audit("create");

    if (!name) {
      if (method === "GET" && ["true", "1"].includes(url.searchParams.get("watch") ?? "")) {
        this.watch(resource, namespace, url, res);
        return undefined;
      }
      if (method === "GET") {
        const items = this.store.list(
          resource,
          namespace,
          url.searchParams.get("labelSelector") ?? undefined,
        );
        return {
          code: 200,
          body: {
            apiVersion: apiVersionOf(resource),
            kind: `${resource.kind}List`,
            metadata: { resourceVersion: this.store.resourceVersion },
            items,
          },
        };
      }
      if (method === "POST") {
        const obj = parseBody(body);
        return {
          code: 201,
          body: this.store.create(
            resource,
            { ...obj, metadata: { ...(obj.metadata as Obj), namespace } },
            manager,
          ),
        };
      }
      throw new ApiError(405, "MethodNotAllowed", `${method} is not allowed on a collection`);
    }

    switch (method) {
      case "GET": {
        const obj = this.store.get(resource, namespace, name);
        if (!obj) throw new ApiError(404, "NotFound", `${resource.plural} "${name}" not found`);
        return { code: 200, body: obj };
      }
      case "PUT":
        return {
          code: 200,
          body: this.store.replace(resource, namespace, name, parseBody(body), manager, status),
        };
      case "PATCH": {
        const type = contentType.split(";")[0]?.trim();
        if (type === "application/apply-patch+yaml") {
          if (!url.searchParams.get("fieldManager"))
            throw new ApiError(422, "Invalid", "fieldManager is required for apply requests");
          const applied = parseBody(body);
          const r = this.store.apply(
            resource,
            namespace,
            name,
            applied,
            manager,
            url.searchParams.get("force") === "true",
            status,
          );
          return { code: r.created ? 201 : 200, body: r.object };
        }
        if (type === "application/merge-patch+json") {
          const current = this.store.get(resource, namespace, name);
          if (!current) throw new ApiError(404, "NotFound", `${resource.plural} "${name}" not found`);
          const next = mergePatch(current, parseBody(body)) as Obj;
          return { code: 200, body: this.store.replace(resource, namespace, name, next, manager, status) };
        }
        throw new ApiError(
          415,
          "UnsupportedMediaType",
          `the fake API server does not accept ${contentType} patches`,
        );
      }
      case "DELETE":
        return { code: 200, body: this.store.delete(resource, namespace, name) };
      default:
        throw new ApiError(405, "MethodNotAllowed", `${method} is not allowed`);
    }
  }

  /** Streams events after the given resourceVersion, then live ones, as newline-delimited JSON. */
  private watch(resource: Resource, namespace: string | undefined, url: URL, res: ServerResponse) {
    const from = Number(url.searchParams.get("resourceVersion") ?? this.store.resourceVersion) || 0;
    const selector = url.searchParams.get("labelSelector") ?? undefined;
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    this.watches.add(res);
    const write = (e: WatchEvent) => {
      if (e.resource !== resource || e.rv <= from) return;
      if (namespace && e.object.metadata.namespace !== namespace) return;
      if (!matches(e.object as Stored, selector)) return;
      res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    };
    for (const e of this.store.log) write(e);
    this.store.events.on("event", write);
    res.on("close", () => {
      this.store.events.off("event", write);
      this.watches.delete(res);
    });
  }
}

export type AuditEntry = { user: string; verb: string; group: string; resource: string; namespace?: string };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Apply patches are YAML (JSON is YAML too); other bodies are JSON. */
function parseBody(body: string): Obj {
  try {
    return (parse(body) ?? {}) as Obj;
  } catch {
    throw new ApiError(400, "BadRequest", "the request body is not valid YAML or JSON");
  }
}

function send(res: ServerResponse, code: number, body: unknown) {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
