// Compiles src/ to dist/ (JavaScript, so `sp` starts without stripping types at every run) and copies the
// files the code reads beside itself (the console's assets, otlp.proto). Run by `npm install` (`prepare`)
// and `npm run build`. Without TypeScript installed (`npm ci --omit=dev`) it builds nothing and says so:
// `sp` then runs the TypeScript sources, as it does whenever dist/ is older than src/ (bin/sp.js).
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";

const root = join(import.meta.dirname, "..");
const src = join(root, "src");
const dist = join(root, "dist");

let tsc: string;
try {
  tsc = createRequire(join(root, "package.json")).resolve("typescript/bin/tsc");
} catch {
  console.error("build: TypeScript is not installed (production install); sp runs the sources in src/");
  process.exit(0);
}

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
const compiled = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
  stdio: "inherit",
});
if (compiled.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  console.error("build: tsc failed; dist/ removed, so sp runs the sources in src/");
  process.exit(compiled.status ?? 1);
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
  `build: dist/ compiled, ${copied} asset files copied (${((Date.now() - started) / 1000).toFixed(1)} s)`,
);

function* filesUnder(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}
