/**
 * Matches `METHOD /path` against route patterns like `/api/v1/workspaces/:ws/processors/:name:start`
 * (a `:param` segment, optionally followed by a literal `:action` suffix as in Atlas' `{name}:start`).
 */
import { ApiError } from "./api-error.ts";

export interface Route<H> {
  readonly method: string;
  readonly pattern: string;
  readonly handler: H;
}

export interface RouteMatch<H> {
  readonly handler: H;
  readonly params: Readonly<Record<string, string>>;
}

export class Router<H> {
  private readonly routes: Array<Route<H> & { segments: string[] }> = [];

  add(method: string, pattern: string, handler: H): this {
    this.routes.push({ method, pattern, handler, segments: pattern.split("/").filter(Boolean) });
    return this;
  }

  /** The route for `method` and `pathname`; 404 when no pattern fits, 405 when only the method is wrong. */
  match(method: string, pathname: string): RouteMatch<H> {
    let segments: string[];
    try {
      segments = pathname.split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      throw ApiError.of("INVALID_PATH", { path: pathname });
    }
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method === method || (method === "HEAD" && route.method === "GET")) {
        return { handler: route.handler, params };
      }
      allowed.push(route.method);
    }
    if (allowed.length > 0) {
      throw ApiError.of(
        "METHOD_NOT_ALLOWED",
        { method, path: pathname, allowed: allowed.join(" or ") },
        {
          headers: { Allow: [...new Set(allowed)].join(", ") },
        },
      );
    }
    throw ApiError.of("NOT_FOUND", { method, path: pathname });
  }
}

function matchSegments(
  pattern: readonly string[],
  path: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    const s = path[i];
    if (!p.startsWith(":")) {
      if (p !== s) return undefined;
      continue;
    }
    const action = p.indexOf(":", 1);
    if (action < 0) {
      if (s.includes(":")) return undefined;
      params[p.slice(1)] = s;
      continue;
    }
    const suffix = p.slice(action);
    if (!s.endsWith(suffix) || s.length === suffix.length) return undefined;
    const value = s.slice(0, -suffix.length);
    if (value.includes(":")) return undefined;
    params[p.slice(1, action)] = value;
  }
  return params;
}
