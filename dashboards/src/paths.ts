import { fileURLToPath } from "node:url";

/** The dashboards/ package folder, for tests and the build script. */
export const packageRoot = fileURLToPath(new URL("..", import.meta.url));
