/** Rewrites the generated per-type option tables of docs/connectors.md from the connector specs. */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withCurrentTables } from "../src/connectors/option-tables.ts";

const path = fileURLToPath(new URL("../docs/connectors.md", import.meta.url));
writeFileSync(path, withCurrentTables(readFileSync(path, "utf8")));
console.log(`updated ${path}`);
