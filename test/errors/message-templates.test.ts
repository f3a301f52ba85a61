// Every API error's `detail` is its code's message template from src/errors/codes.ts, filled in.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, errorMessage, templateParameters } from "../../src/errors/codes.ts";
import { conflict } from "../../src/control/errors.ts";
import { ApiError } from "../../src/server/api-error.ts";

describe("error message templates", () => {
  it("fill in every parameter, inserting values as they are", () => {
    expect(errorMessage("PROCESSOR_NOT_FOUND", { name: "p{x}", workspace: "ws" })).toBe(
      "no processor named 'p{x}' in workspace 'ws'; list them with GET /api/v1/workspaces/ws/processors",
    );
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      const params = Object.fromEntries(templateParameters(spec.message).map((name) => [name, "v"]));
      const message = errorMessage(code as keyof typeof ERROR_CODES, params as never);
      expect(message, code).not.toMatch(/\{[A-Za-z]\w*\}|undefined/);
    }
  });

  it("give one code one wording, on the control plane and in the API", () => {
    const control = conflict("PROCESSOR_ALREADY_EXISTS", { name: "p", workspace: "w" });
    const api = ApiError.of("PROCESSOR_ALREADY_EXISTS", { name: "p", workspace: "w" });
    expect(control.message).toBe(api.message);
    expect(api.body()).toMatchObject({ error: 409, errorCode: "PROCESSOR_ALREADY_EXISTS" });
  });

  it("are the only way errors are built in src/control and src/server", async () => {
    const offenders: string[] = [];
    for (const dir of ["src/control", "src/server"]) {
      for (const file of await readdir(dir, { recursive: true })) {
        if (!file.endsWith(".ts") || file.endsWith("errors.ts") || file.endsWith("api-error.ts")) continue;
        const text = await readFile(join(dir, file), "utf8");
        if (/new (ApiError|ControlError)\(\s*"/.test(text)) offenders.push(join(dir, file));
      }
    }
    expect(offenders).toEqual([]);
  });
});
