/** Writes docs/asp-differences.md from the Eddy extension list (src/connectors/extensions.ts). */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { aspDifferencesDocument } from "./asp-differences-document.ts";

const path = fileURLToPath(new URL("../docs/asp-differences.md", import.meta.url));
writeFileSync(path, await aspDifferencesDocument(path));
console.log(`updated ${path}`);
