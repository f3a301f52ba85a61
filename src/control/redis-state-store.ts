import { RESP_TYPES, type RedisClientType } from "redis";
import type { LeaseStore } from "./leases/lease.ts";
import { RedisLeaseStore } from "./leases/redis-lease-store.ts";
import { decodeRecord, encodeRecord } from "./record-codec.ts";
import type { StateStore } from "./state-store.ts";

/**
 * A state store in Redis, for several `sp serve` instances that share state: one hash per collection,
 * one canonical Extended JSON field per record (binary records: the raw bytes). Each put is a single HSET,
 * so readers see the old or the new record, never a mix.
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
    return (await this.client.hDel(this.key(collection), id)) > 0;
  }

  async list<T>(collection: string): Promise<Array<{ id: string; value: T }>> {
    const all = await this.client.hGetAll(this.key(collection));
    return Object.keys(all)
      .sort()
      .map((id) => ({ id, value: decodeRecord(all[id]) as T }));
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  leases(): LeaseStore {
    return new RedisLeaseStore(this.client, { prefix: this.prefix });
  }

  private key(collection: string): string {
    return `${this.prefix}state:${collection}`;
  }
}
