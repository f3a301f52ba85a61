/**
 * The embedded default state store: one canonical Extended JSON file per record under
 * `<dir>/<collection>/` (`<id>.json`; binary records: `<id>.bin`), written to a temporary file, fsynced and
 * renamed into place, so a `kill -9` at any moment leaves every record whole. Folders are 0700, files 0600.
 * One process uses the folder, and the writes to one record (puts, raises, deletes) take turns in it, so a
 * raise's read and write have no other write of that record in between.
 */
import { mkdir, open, readdir, readFile, rename, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { decodeRecord, encodeRecord } from "./record-codec.ts";
import { checkRaise, raisedRecordText, type RaisedFields, type StateStore } from "./state-store.ts";

const SUFFIX = ".json";
const BYTES_SUFFIX = ".bin";
const TEMP_MARK = ".tmp-";
/** Temporary files this process is writing now (any store over any folder): a concurrent `list` must not take them for a crash's leftovers. */
const writing = new Set<string>();
/** The last write of each record file under way in this process (any store over any folder): the next waits for it. */
const turns = new Map<string, Promise<unknown>>();

export class FileStateStore implements StateStore {
  private readonly dir: string;
  private counter = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  async get<T>(collection: string, id: string): Promise<T | undefined> {
    const text = await readFile(this.file(collection, id), "utf8").catch(ignoreMissing);
    return text === undefined ? undefined : (decodeRecord(text) as T);
  }

  async put(collection: string, id: string, value: unknown): Promise<void> {
    const file = this.file(collection, id);
    await inTurn(file, () => this.replace(collection, file, encodeRecord(value)));
  }

  async raiseFields(
    collection: string,
    id: string,
    fields: RaisedFields,
    set?: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    checkRaise(fields, set);
    const file = this.file(collection, id);
    await inTurn(file, async () => {
      const read = await readFile(file, "utf8").catch(ignoreMissing);
      const raised = raisedRecordText(read, fields, set);
      if (raised !== read) await this.replace(collection, file, raised);
    });
  }

  async putBytes(collection: string, id: string, bytes: Uint8Array): Promise<void> {
    await this.replace(collection, this.file(collection, id, BYTES_SUFFIX), bytes);
  }

  async getBytes(collection: string, id: string): Promise<Uint8Array | undefined> {
    return readFile(this.file(collection, id, BYTES_SUFFIX)).catch(ignoreMissing);
  }

  async delete(collection: string, id: string): Promise<boolean> {
    const file = this.file(collection, id);
    const removed =
      (await inTurn(file, () => unlinkIfPresent(file))) ||
      (await unlinkIfPresent(this.file(collection, id, BYTES_SUFFIX)));
    if (removed) await syncDirectory(this.collectionDir(collection));
    return removed;
  }

  async list<T>(collection: string): Promise<Array<{ id: string; value: T }>> {
    const dir = this.collectionDir(collection);
    const names = (await readdir(dir).catch(ignoreMissing)) ?? [];
    const out: Array<{ id: string; value: T }> = [];
    for (const name of names.sort()) {
      if (name.includes(TEMP_MARK)) {
        // A write that a crash interrupted before its rename (the record it was replacing is intact) — unless
        // its writer is alive: this store's own write in flight, or another live process's.
        const path = join(dir, name);
        if (!writing.has(path) && !writerAlive(name)) await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      const id = decodeURIComponent(name.slice(0, -SUFFIX.length));
      const value = await this.get<T>(collection, id);
      if (value !== undefined) out.push({ id, value });
    }
    return out;
  }

  async close(): Promise<void> {}

  /** Writes `target` as a temporary file, fsyncs it and renames it into place. */
  private async replace(collection: string, target: string, data: string | Uint8Array): Promise<void> {
    const dir = this.collectionDir(collection);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = `${target}${TEMP_MARK}${process.pid}-${this.counter++}`;
    writing.add(temp);
    try {
      // Records hold connection secrets: readable by the server's user only.
      const handle = await open(temp, "w", 0o600);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
    } finally {
      writing.delete(temp);
    }
    await syncDirectory(dir);
  }

  private collectionDir(collection: string): string {
    return join(this.dir, encodeURIComponent(collection));
  }

  private file(collection: string, id: string, suffix = SUFFIX): string {
    return join(this.collectionDir(collection), encodeURIComponent(id) + suffix);
  }
}

/** Runs `write` once the writes of `file` before it are done. */
function inTurn<T>(file: string, write: () => Promise<T>): Promise<T> {
  const done = (turns.get(file) ?? Promise.resolve()).then(write);
  const settled = done.catch(() => undefined);
  turns.set(file, settled);
  void settled.then(() => {
    if (turns.get(file) === settled) turns.delete(file);
  });
  return done;
}

async function unlinkIfPresent(path: string): Promise<boolean> {
  return unlink(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return false;
      throw error;
    },
  );
}

/** Whether the process that named temporary file `name` (`…tmp-<pid>-<n>`) is another process still running. */
function writerAlive(name: string): boolean {
  const pid = Number(/\.tmp-(\d+)-\d+$/.exec(name)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): undefined {
  if (error.code === "ENOENT") return undefined;
  throw error;
}
