/** docs/asp-differences.md as the generator writes it: the extension list's Markdown, formatted by Prettier. */
import { format, resolveConfig } from "prettier";
import { aspDifferencesMarkdown } from "../src/connectors/extensions.ts";

export async function aspDifferencesDocument(path: string): Promise<string> {
  const config = (await resolveConfig(path)) ?? {};
  return format(aspDifferencesMarkdown(), { ...config, filepath: path });
}
