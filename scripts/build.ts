// Builds dist/: the `sp` command's code as a few bundled JavaScript files (so `sp` starts without stripping
// types, and without resolving and loading some 200 modules one by one), plus the files the code reads
// beside itself (the console's assets, otlp.proto). Run by `npm install` (`prepare`) and `npm run build`.
// Without the bundler installed (`npm ci --omit=dev`) it builds nothing and says so: `sp` then runs the
// TypeScript sources, as it does whenever dist/ is older than src/ (bin/sp.js). Type checking is
// `npm run typecheck`'s job, not the build's.
//
// Layout: dist/cli/main.js is the entry (bin/sp.js imports it); every module that is only imported
// dynamically (a command, the planner, a connector's client code…) goes to a chunk in dist/chunks/, loaded
// when first used. Entry and chunks sit one folder below dist/, so a module's own `import.meta.url` and
// `import.meta.dirname` are rewritten to where its compiled copy would be (`../server/console/…`), and the
// files it reads beside itself are copied there.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";

const root = join(import.meta.dirname, "..");
const src = join(root, "src");
const dist = join(root, "dist");

let bundler: typeof import("rolldown");
try {
  bundler = await import("rolldown");
} catch {
  console.error(
    "build: the bundler (rolldown) is not installed (production install); sp runs the sources in src/",
  );
  process.exit(0);
}

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
try {
  const bundle = await bundler.rolldown({
    input: join(src, "cli", "main.ts"),
    platform: "node",
    // Packages and Node's own modules are loaded from node_modules as they are; only src/ is bundled.
    external: (id) => !id.startsWith(".") && !id.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(id),
    plugins: [{ name: "import-meta-beside-source", transform: rewriteImportMeta }],
    logLevel: "warn",
    onLog(level, log, handler) {
      // help.ts is both imported by main.ts (the usage text) and loadable as a command: that is intended.
      if (log.code === "INEFFECTIVE_DYNAMIC_IMPORT") return;
      handler(level, log);
    },
  });
  await bundle.write({
    dir: dist,
    format: "esm",
    entryFileNames: "cli/[name].js",
    chunkFileNames: "chunks/[name]-[hash].js",
  });
  await bundle.close();
} catch (error) {
  rmSync(dist, { recursive: true, force: true });
  console.error(`build: bundling failed; dist/ removed, so sp runs the sources in src/\n${String(error)}`);
  process.exit(1);
}

let copied = 0;
for (const file of filesUnder(src)) {
  if (file.endsWith(".ts")) continue;
  const target = join(dist, relative(src, file));
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(file, target);
  copied++;
}
// bin/sp.js runs dist/ only while no file in src/ is newer than this stamp.
writeFileSync(join(dist, ".built"), new Date().toISOString() + "\n");
console.error(
  `build: dist/ bundled, ${copied} asset files copied (${((Date.now() - started) / 1000).toFixed(1)} s)`,
);

/**
 * `import.meta.url` / `import.meta.dirname` of a module in src/ as if it ran from its own place in dist/
 * (dist/<same path>.js), whichever output file it ends up in: all of them are one folder below dist/.
 */
function rewriteImportMeta(code: string, id: string): string | undefined {
  if (!id.startsWith(src + sep) || !code.includes("import.meta.")) return undefined;
  const fromDist = relative(src, id).split(sep).join("/").replace(/\.ts$/, ".js");
  const url = `new URL(${JSON.stringify("../" + fromDist)}, import.meta.url).href`;
  const dir = `process.getBuiltinModule("node:url").fileURLToPath(new URL(${JSON.stringify(
    "../" + dirname(fromDist) + "/",
  )}, import.meta.url)).replace(/[\\\\/]$/, "")`;
  return code.replaceAll("import.meta.url", `(${url})`).replaceAll("import.meta.dirname", `(${dir})`);
}

function* filesUnder(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}
