// Generates the API types with openapi-typescript:
//   openapi.yaml         (the backend's schema: `manage.py spectacular --file frontend/openapi.yaml`)
//                        → src/api/schema.gen.ts
//   openapi.pending.yaml (endpoints the backend does not serve yet, from the API brief)
//                        → src/api/schema.pending.gen.ts
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "node_modules/openapi-typescript/bin/cli.js");
const jobs = [
  ["openapi.yaml", "src/api/schema.gen.ts"],
  ["openapi.pending.yaml", "src/api/schema.pending.gen.ts"],
];
for (const [input, output] of jobs) {
  if (!existsSync(join(root, input))) {
    console.error(`${input} is missing: run \`.venv/bin/python manage.py spectacular --file frontend/openapi.yaml\` at the repository root.`);
    process.exit(1);
  }
  execFileSync(process.execPath, [cli, join(root, input), "-o", join(root, output)], { stdio: "inherit" });
}
