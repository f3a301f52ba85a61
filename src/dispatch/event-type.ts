/** Event types `domain:category:resource:action` and subscription patterns with `*` segments. */

export const SEGMENTS = 4;
export const WILDCARD = "*";

export class EventTypeError extends Error {
  override readonly name = "EventTypeError";
}

/** The four segments of an event type; throws when it is not four non-empty, wildcard-free segments. */
export function parseEventType(type: unknown): readonly string[] {
  const segments = splitSegments(type, "event type");
  if (segments.includes(WILDCARD)) {
    throw new EventTypeError(`event type '${String(type)}' must not contain '*': only patterns may`);
  }
  return segments;
}

/** The four segments of a subscription pattern, each a literal or `*`. */
export function parsePattern(pattern: unknown): readonly string[] {
  return splitSegments(pattern, "event_type_pattern");
}

function splitSegments(value: unknown, what: string): readonly string[] {
  if (typeof value !== "string") {
    throw new EventTypeError(
      `${what} must be a string 'domain:category:resource:action', got ${typeof value}`,
    );
  }
  const segments = value.split(":");
  if (
    segments.length !== SEGMENTS ||
    segments.some((s) => s === "" || (s.includes(WILDCARD) && s !== WILDCARD))
  ) {
    throw new EventTypeError(
      `${what} '${value}' must be four ':'-separated non-empty segments (domain:category:resource:action)` +
        (what === "event type" ? "" : ", each a literal or exactly '*'"),
    );
  }
  return segments;
}
