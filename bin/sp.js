#!/usr/bin/env node
// Launcher for the `sp` command. Runs the TypeScript sources directly (Node 24 strips types);
// a built copy in dist/ is preferred when present.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const built = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const entry = existsSync(built) ? built : fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
