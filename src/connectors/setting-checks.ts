/** Checks shared by connection specs' `checkConnection`; `{{VAR}}` placeholders pass any pattern. */
import type { ConnectionSettings, SettingProblem } from "../pipeline/connector-specs.ts";
import { typeName } from "../pipeline/errors.ts";

const PLACEHOLDER = /\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}/;

export { typeName } from "../pipeline/errors.ts";

/** `key` must be a non-empty string (matching `pattern` unless it holds a placeholder). */
export function requireStringSetting(
  { settings, pathOf }: ConnectionSettings,
  key: string,
  message: string,
  pattern?: { readonly pattern: RegExp; readonly text: string },
): SettingProblem[] {
  const value = settings[key];
  const path = pathOf(key);
  if (typeof value !== "string" || value.trim() === "")
    return [{ path, message, expected: "non-empty string", got: typeName(value) }];
  if (pattern && !PLACEHOLDER.test(value) && !pattern.pattern.test(value))
    return [{ path, message, expected: pattern.text, got: JSON.stringify(value) }];
  return [];
}
