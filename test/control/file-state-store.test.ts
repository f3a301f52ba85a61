import { spawn } from "node:child_process";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Long } from "bson";
import { describe, expect, it } from "vitest";
import { FileStateStore } from "../../src/control/file-state-store.ts";

const storeModule = new URL("../../src/control/file-state-store.ts", import.meta.url).pathname;

describe("FileStateStore", () => {
  it("puts, gets, lists and deletes records, keeping BSON types", async () => {
    const store = new FileStateStore(await mkdtemp(join(tmpdir(), "eddy-state-")));
    await store.put("processors", "a/b c", {
      state: "STARTED",
      at: new Date(5),
      offset: Long.fromString("9007199254740993"),
    });
    await store.put("processors", "x", { state: "CREATED" });
    const got = await store.get<{ at: Date; offset: Long }>("processors", "a/b c");
    expect(got?.at).toEqual(new Date(5));
    expect(got?.offset.toString()).toBe("9007199254740993");
    expect((await store.list("processors")).map((r) => r.id)).toEqual(["a/b c", "x"]);
    expect(await store.delete("processors", "x")).toBe(true);
    expect(await store.delete("processors", "x")).toBe(false);
    expect(await store.get("processors", "x")).toBeUndefined();
    expect(await store.list("nothing-here")).toEqual([]);
  });

  it("leaves every record whole when the writer is killed with SIGKILL mid-write", async () => {
    const dir = await mkdtemp(join(tmpdir(), "eddy-state-kill-"));
    const writer = `
      const { FileStateStore } = await import(${JSON.stringify(storeModule)});
      const store = new FileStateStore(${JSON.stringify(dir)});
      const payload = "x".repeat(200000);
      for (let i = 0; ; i++) {
        await store.put("checkpoints", "p" + (i % 3), { seq: i, payload });
        if (i === 20) process.stdout.write("ready\\n");
      }`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", writer], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));

    const store = new FileStateStore(dir);
    const records = await store.list<{ seq: number; payload: string }>("checkpoints");
    expect(records.length).toBe(3);
    for (const record of records) expect(record.value.payload.length).toBe(200000);
    expect((await readdir(join(dir, "checkpoints"))).every((name) => name.endsWith(".json"))).toBe(true);
  });
});
