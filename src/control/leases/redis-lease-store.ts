import type { RedisClientType } from "redis";
import type { Lease, LeaseStore } from "./lease.ts";

// KEYS[1] lease key, KEYS[2] fencing counter; ARGV owner, ttl ms, expiresAt. Returns the lease JSON or nil.
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
local token
if current then
  local lease = cjson.decode(current)
  if lease.owner ~= ARGV[1] then return false end
  token = lease.token
else
  token = redis.call('INCR', KEYS[2])
end
local value = cjson.encode({owner = ARGV[1], token = token, expiresAt = tonumber(ARGV[3])})
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value`;

// KEYS[1] lease key; ARGV owner, token, ttl ms, expiresAt. Renews only the exact holder.
const RENEW = `
local current = redis.call('GET', KEYS[1])
if not current then return false end
local lease = cjson.decode(current)
if lease.owner ~= ARGV[1] or lease.token ~= tonumber(ARGV[2]) then return false end
local value = cjson.encode({owner = ARGV[1], token = lease.token, expiresAt = tonumber(ARGV[4])})
redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
return value`;

const RELEASE = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local lease = cjson.decode(current)
if lease.owner ~= ARGV[1] or lease.token ~= tonumber(ARGV[2]) then return 0 end
return redis.call('DEL', KEYS[1])`;

/**
 * Leases in Redis: the lease key expires on the Redis server's clock (`PX`), and a separate counter that
 * never expires hands out fencing tokens, so tokens keep growing across expiries and releases.
 */
export class RedisLeaseStore implements LeaseStore {
  private readonly client: RedisClientType;
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(client: RedisClientType, options: { prefix?: string; now?: () => number } = {}) {
    this.client = client;
    this.prefix = options.prefix ?? "eddy:";
    this.now = options.now ?? Date.now;
  }

  async tryAcquire(resource: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    const reply = await this.client.eval(ACQUIRE, {
      keys: [this.leaseKey(resource), `${this.prefix}lease-token:${resource}`],
      arguments: [owner, String(ttlMs), String(this.now() + ttlMs)],
    });
    return parseLease(resource, reply);
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    const reply = await this.client.eval(RENEW, {
      keys: [this.leaseKey(lease.resource)],
      arguments: [lease.owner, String(lease.token), String(ttlMs), String(this.now() + ttlMs)],
    });
    return parseLease(lease.resource, reply);
  }

  async release(lease: Lease): Promise<void> {
    await this.client.eval(RELEASE, {
      keys: [this.leaseKey(lease.resource)],
      arguments: [lease.owner, String(lease.token)],
    });
  }

  async holder(resource: string): Promise<Lease | undefined> {
    return parseLease(resource, await this.client.get(this.leaseKey(resource)));
  }

  async close(): Promise<void> {
    // The client belongs to the caller.
  }

  private leaseKey(resource: string): string {
    return `${this.prefix}lease:${resource}`;
  }
}

function parseLease(resource: string, reply: unknown): Lease | undefined {
  if (typeof reply !== "string") return undefined;
  const { owner, token, expiresAt } = JSON.parse(reply) as Omit<Lease, "resource">;
  return { resource, owner, token, expiresAt };
}
