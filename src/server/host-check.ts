/**
 * DNS-rebinding protection: a request's `Host` must name the address the server is bound to, a loopback
 * name when it is bound to loopback, any IP address when it is bound to all interfaces, or one of the
 * names the operator allowed. A page on another site that rebinds its own name to 127.0.0.1 still sends
 * its own name as `Host`, so it is refused before any route runs.
 */
import { isIP } from "node:net";
import { ApiError } from "./api-error.ts";

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];
const UNSPECIFIED = new Set(["0.0.0.0", "::"]);

export type HostCheck = (hostHeader: string | undefined) => void;

/** The check for a server bound to `boundHost`, also accepting `allowedNames` (case-insensitive). */
export function hostCheck(boundHost: string, allowedNames: readonly string[] = []): HostCheck {
  const bound = normalize(boundHost);
  const names = new Set([bound, ...allowedNames.map(normalize)]);
  if (isLoopback(bound)) for (const name of LOOPBACK_NAMES) names.add(name);
  const anyAddress = UNSPECIFIED.has(bound);
  return (hostHeader) => {
    const name = hostHeader === undefined ? undefined : normalize(stripPort(hostHeader));
    if (name !== undefined && (names.has(name) || (anyAddress && isIP(name) !== 0))) return;
    throw ApiError.of("HOST_NOT_ALLOWED", {
      problem: hostHeader === undefined ? "is missing" : `'${hostHeader}' is not a name of this server`,
      names: `${[...names].sort().join(", ")}${anyAddress ? " and any IP address" : ""}`,
    });
  };
}

function stripPort(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? host : host.slice(1, end);
  }
  const colon = host.lastIndexOf(":");
  // More than one colon without brackets is a bare IPv6 address, not host:port.
  return colon >= 0 && host.indexOf(":") === colon ? host.slice(0, colon) : host;
}

function normalize(name: string): string {
  const lower = name.trim().toLowerCase().replace(/\.$/, "");
  return lower.startsWith("[") && lower.endsWith("]") ? lower.slice(1, -1) : lower;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
