// Seeded randomness for the demo: the same --seed gives the same customers, carts, items, order ids and
// order-service decisions on every run and every machine.
import { createHash } from "node:crypto";

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** A version-4 UUID string built from this generator's bits. */
  uuid(): string;
}

/** sfc32 seeded through SHA-256 of the label: small, fast and good enough for a demo's choices. */
export function seededRandom(seed: number, label: string): Random {
  const digest = createHash("sha256").update(`${seed}:${label}`).digest();
  let a = digest.readUInt32LE(0);
  let b = digest.readUInt32LE(4);
  let c = digest.readUInt32LE(8);
  let d = digest.readUInt32LE(12);
  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  const random: Random = {
    next: () => nextUint32() / 2 ** 32,
    int: (min, max) => min + Math.floor(random.next() * (max - min + 1)),
    uuid: () => {
      const bytes = Buffer.alloc(16);
      for (let i = 0; i < 16; i += 4) bytes.writeUInt32LE(nextUint32(), i);
      return uuidFromBytes(bytes);
    },
  };
  return random;
}

/** A fraction in [0, 1) and a UUID that depend only on the seed and the parts (for per-order decisions). */
export function seededChoice(seed: number, ...parts: string[]): { fraction: number; uuid: string } {
  const digest = createHash("sha256")
    .update([seed, ...parts].join(":"))
    .digest();
  return { fraction: digest.readUInt32LE(0) / 2 ** 32, uuid: uuidFromBytes(digest.subarray(16, 32)) };
}

function uuidFromBytes(source: Buffer): string {
  const bytes = Buffer.from(source);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
