import { spawn } from "node:child_process";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
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

  it("lists while writes are in flight without taking their temporary files for a crash's leftovers", async () => {
    const dir = await mkdtemp(join(tmpdir(), "eddy-state-race-"));
    const writer = new FileStateStore(dir);
    const reader = new FileStateStore(dir);
    const payload = "y".repeat(20_000);
    let writing = true;
    const writes = (async () => {
      for (let i = 0; i < 150; i++) await writer.put("processors", `p${i % 4}`, { i, payload });
    })().finally(() => (writing = false));
    const lists = (async () => {
      while (writing) await reader.list("processors");
    })();
    const settled = await Promise.allSettled([writes, lists]);
    expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
    expect((await writer.list("processors")).map((r) => r.id)).toEqual(["p0", "p1", "p2", "p3"]);
  });

  it("removes a temporary file whose writer is gone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "eddy-state-stale-"));
    const store = new FileStateStore(dir);
    await store.put("processors", "a", { v: 1 });
    // pid 2^22 + 1 is above Linux's pid_max limit, so no live process has it.
    await writeFile(join(dir, "processors", "a.json.tmp-4194305-0"), "half a record");
    expect((await store.list("processors")).map((r) => r.id)).toEqual(["a"]);
    expect(await readdir(join(dir, "processors"))).toEqual(["a.json"]);
  });
});
