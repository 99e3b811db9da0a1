// ESLint for the frontend: TypeScript-aware recommended rules, the rules of hooks, and the
// boundaries between features (each feature is a room; other rooms come in through its index.ts).
import js from "@eslint/js";
import boundaries from "eslint-plugin-boundaries";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "src/api/*.gen.ts"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  reactHooks.configs.flat.recommended,
  {
    files: ["**/*.{ts,tsx}"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ["scripts/**/*.mjs", "*.config.{js,ts}"],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ["src/**/*.{ts,tsx}"],
    plugins: { boundaries },
    settings: {
      "import/resolver": { typescript: { project: "./tsconfig.json" } },
      "boundaries/elements": [
        { type: "app", pattern: "src/app" },
        { type: "api", pattern: "src/api" },
        { type: "components", pattern: "src/components" },
        { type: "feature", pattern: "src/features/*", capture: ["name"] },
      ],
    },
    rules: {
      "boundaries/dependencies": [
        "error",
        {
          default: "disallow",
          message:
            "Import across rooms: a feature reaches another feature only through its index.ts " +
            "(export what it shares there); components/ and api/ import no feature.",
          policies: [
            // app/ wires routes and providers: it may reach any page.
            { from: { element: { type: "app" } }, allow: { to: { element: { types: ["app", "api", "components", "feature"] } } } },
            // A feature uses the shared layers, itself, and other features through their index.ts only.
            {
              from: { element: { type: "feature" } },
              allow: [
                { to: { element: { types: ["api", "components"] } } },
                { to: { element: { type: "feature", captured: { name: "{{ from.captured.name }}" } } } },
                { to: { element: { type: "feature", fileInternalPath: "index.ts" } } },
              ],
            },
            // Shared layers know no feature.
            { from: { element: { type: "components" } }, allow: { to: { element: { types: ["api", "components"] } } } },
            { from: { element: { type: "api" } }, allow: { to: { element: { type: "api" } } } },
          ],
        },
      ],
    },
  },
);
