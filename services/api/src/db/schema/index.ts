export * from "./permissions.ts";
export * from "./revisions.ts";
export * from "./structures.ts";
export * from "./users.ts";
