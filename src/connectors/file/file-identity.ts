import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

/** How many leading bytes identify a file's content. */
export const FINGERPRINT_BYTES = 1024;

/** What a checkpoint keeps to recognise the file it read: inode, and a hash of its first bytes. */
export interface FileIdentity {
  readonly inode: number;
  readonly size: number;
  /** `<n>:<sha256 of the first n bytes, hex>`, n = min(FINGERPRINT_BYTES, size when first read). */
  readonly fingerprint: string;
}

/** The identity of the file at `path` now; the fingerprint covers `fingerprintBytes` (default: up to 1 KiB). */
export async function fileIdentity(path: string, fingerprintBytes?: number): Promise<FileIdentity> {
  const handle = await open(path, "r");
  try {
    const stat = await handle.stat();
    const length = Math.min(fingerprintBytes ?? FINGERPRINT_BYTES, stat.size);
    const head = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await handle.read(head, read, length - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    const hash = createHash("sha256").update(head.subarray(0, read)).digest("hex");
    return { inode: stat.ino, size: stat.size, fingerprint: `${read}:${hash}` };
  } finally {
    await handle.close();
  }
}

/**
 * Why the file at `path` is not the one a checkpoint read up to byte `offset` (undefined: it is): another
 * inode, fewer bytes than were read, or different first bytes.
 */
export async function replacementReason(
  path: string,
  saved: { readonly inode?: unknown; readonly fingerprint?: unknown; readonly offset?: unknown },
): Promise<string | undefined> {
  const savedBytes = typeof saved.fingerprint === "string" ? Number(saved.fingerprint.split(":")[0]) : NaN;
  const now = await fileIdentity(path, Number.isInteger(savedBytes) ? savedBytes : undefined);
  if (typeof saved.inode === "number" && saved.inode !== now.inode) {
    return `its inode changed from ${saved.inode} to ${now.inode}`;
  }
  if (typeof saved.offset === "number" && now.size < saved.offset) {
    return `it has ${now.size} bytes, fewer than the ${saved.offset} already read`;
  }
  if (typeof saved.fingerprint === "string" && saved.fingerprint !== now.fingerprint) {
    return "its first bytes changed";
  }
  return undefined;
}
