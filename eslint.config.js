import js from "@eslint/js";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";

/**
 * The source folders from the bottom layer up: a folder may import the ones before it, never the ones
 * after it (docs/architecture: mql ← pipeline ← runtime ← connectors ← control ← server ← cli). `codec`
 * sits on `mql` and every layer above may use it; `errors` (the error-code registry) imports nothing;
 * `dispatch` (webhook delivery) and `migrate` (trigger conversion) are services on the control plane;
 * `testing` (the `sp test` driver, `eddy/testing`) runs plans with stubbed connectors.
 */
const LAYERS = [
  "errors",
  "mql",
  "codec",
  "pipeline",
  "runtime",
  "connectors",
  "testing",
  "control",
  "dispatch",
  "migrate",
  "server",
  "cli",
];

/** One `no-restricted-imports` block per layer, forbidding relative imports of any higher layer. */
const layerRules = LAYERS.map((layer, i) => {
  const higher = LAYERS.slice(i + 1);
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      "no-restricted-imports":
        higher.length === 0
          ? "off"
          : [
              "error",
              {
                patterns: [
                  {
                    regex: `^(\\.\\./)+(${higher.join("|")})(/|$)`,
                    message: `src/${layer} must not import from a higher layer (${higher.join(", ")}); layers: ${LAYERS.join(" ← ")}`,
                  },
                ],
              },
            ],
    },
  };
});

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "dist/",
      "coverage/",
      ".services/",
      // Atlas App Services function sources kept as migration input: their runtime's globals, not ours.
      "examples/app-services-export/functions/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { console: "readonly", process: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    // The web console's script runs in the browser.
    files: ["src/server/console/assets/**/*.js"],
    languageOptions: {
      sourceType: "script",
      globals: {
        window: "readonly",
        document: "readonly",
        sessionStorage: "readonly",
        fetch: "readonly",
        setTimeout: "readonly",
        AbortController: "readonly",
        TextDecoderStream: "readonly",
        uPlot: "readonly",
      },
    },
  },
  {
    // Scripts that the real mongosh runs (test/server/wire): the shell's globals.
    files: ["test/server/wire/mongosh-scripts/*.js"],
    languageOptions: {
      globals: { sp: "readonly", db: "readonly", print: "readonly", sleep: "readonly", EJSON: "readonly" },
    },
  },
  ...layerRules,
);
