// Generates src/api/schema.gen.ts from the backend's OpenAPI schema.
// Reads frontend/openapi.yaml (written by `manage.py spectacular --file frontend/openapi.yaml`);
// falls back to openapi.draft.yaml, the provisional schema, while the backend has none.
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const real = join(root, "openapi.yaml");
const input = existsSync(real) ? real : join(root, "openapi.draft.yaml");
if (input !== real) {
  console.warn("openapi.yaml not found: generating from openapi.draft.yaml");
}
execFileSync(
  process.execPath,
  [join(root, "node_modules/openapi-typescript/bin/cli.js"), input, "-o", join(root, "src/api/schema.gen.ts")],
  { stdio: "inherit" },
);
