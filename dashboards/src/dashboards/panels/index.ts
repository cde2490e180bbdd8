/** Panels both dashboards show; each takes the config, so selectors live in one place. */
export * from "./capacity.ts";
export * from "./data.ts";
export * from "./http.ts";
