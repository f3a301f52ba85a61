import { RESP_TYPES, type RedisClientType } from "redis";
import type { LeaseStore } from "./leases/lease.ts";
import { RedisLeaseStore } from "./leases/redis-lease-store.ts";
import { decodeRecord, encodeRecord } from "./record-codec.ts";
import {
  checkRaise,
  raisedRecordText,
  type FencedWrites,
  type RaisedFields,
  type StateStore,
} from "./state-store.ts";

// KEYS[1] the collection's fences, KEYS[2] its records; ARGV id, token. Raises the fence unless it is higher.
const CLAIM = `
local fence = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if fence > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

// KEYS[1] the collection's fences, KEYS[2] its records; ARGV id, token, value. Writes unless the fence is higher.
const FENCED_PUT = `
local fence = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if fence > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1`;

// KEYS[1] the collection's records; ARGV id, the record as read ('' for none), the new record. Writes the new
// one only if the stored one is still the one read.
const REPLACE_IF_UNCHANGED = `
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;

/**
 * A state store in Redis, for several `sp serve` instances that share state: one hash per collection,
 * one canonical Extended JSON field per record (binary records: the raw bytes). Each put is a single HSET,
 * so readers see the old or the new record, never a mix. A fenced record's token is a field of the
 * collection's fence hash; a Lua script compares and writes it with the record in one atomic step. A raise
 * (`raiseFields`) computes the raised record from the one it read and writes it only if that one is still
 * stored (a Lua compare-and-set), reading again when another write came in between. The raise is not done
 * inside Lua because Redis' cjson would re-encode the whole record: it writes `[]` as `{}` and keeps 14
 * digits of a number.
 */
export class RedisStateStore implements StateStore {
  private readonly client: RedisClientType;
  private readonly prefix: string;
  private readonly ownsClient: boolean;

  constructor(client: RedisClientType, options: { prefix?: string; ownsClient?: boolean } = {}) {
    this.client = client;
    this.prefix = options.prefix ?? "eddy:";
    this.ownsClient = options.ownsClient ?? false;
  }

  async get<T>(collection: string, id: string): Promise<T | undefined> {
    const text = await this.client.hGet(this.key(collection), id);
    return text == null ? undefined : (decodeRecord(text) as T);
  }

  async put(collection: string, id: string, value: unknown): Promise<void> {
    await this.client.hSet(this.key(collection), id, encodeRecord(value));
  }

  async putBytes(collection: string, id: string, bytes: Uint8Array): Promise<void> {
    await this.client.hSet(
      this.key(collection),
      id,
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    );
  }

  async getBytes(collection: string, id: string): Promise<Uint8Array | undefined> {
    const binary = this.client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    return (await binary.hGet(this.key(collection), id)) ?? undefined;
  }

  async delete(collection: string, id: string): Promise<boolean> {
    const [deleted] = await this.client
      .multi()
      .hDel(this.key(collection), id)
      .hDel(this.fenceKey(collection), id)
      .exec();
    return Number(deleted) > 0;
  }

  async list<T>(collection: string): Promise<Array<{ id: string; value: T }>> {
    const all = await this.client.hGetAll(this.key(collection));
    return Object.keys(all)
      .sort()
      .map((id) => ({ id, value: decodeRecord(all[id]) as T }));
  }

  async raiseFields(
    collection: string,
    id: string,
    fields: RaisedFields,
    set?: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    checkRaise(fields, set);
    const key = this.key(collection);
    for (;;) {
      const read = await this.client.hGet(key, id);
      const raised = raisedRecordText(read ?? undefined, fields, set);
      if (raised === read) return;
      const written = await this.client.eval(REPLACE_IF_UNCHANGED, {
        keys: [key],
        arguments: [id, read ?? "", raised],
      });
      if (written === 1) return;
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  leases(): LeaseStore {
    return new RedisLeaseStore(this.client, { prefix: this.prefix });
  }

  fenced(): FencedWrites {
    return {
      claim: async (collection, id, token) =>
        (await this.client.eval(CLAIM, {
          keys: [this.fenceKey(collection), this.key(collection)],
          arguments: [id, String(token)],
        })) === 1,
      put: async (collection, id, value, token) =>
        (await this.client.eval(FENCED_PUT, {
          keys: [this.fenceKey(collection), this.key(collection)],
          arguments: [id, String(token), encodeRecord(value)],
        })) === 1,
    };
  }

  private key(collection: string): string {
    return `${this.prefix}state:${collection}`;
  }

  private fenceKey(collection: string): string {
    return `${this.prefix}fence:${collection}`;
  }
}
