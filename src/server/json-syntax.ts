/**
 * Finds where JSON text first goes wrong, for error messages that name a position (V8's
 * "Unexpected token" errors give none and echo the whole text instead).
 */
export interface JsonSyntaxError {
  /** 0-based character offset. */
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** The first syntax error in `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const fail = (message: string): never => {
    throw new Located(i, message);
  };
  const ws = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const found = (): string => (i >= text.length ? "end of input" : `'${text[i]}'`);
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${found()}, expected a JSON value`);
  };
  const string = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail("invalid \\u escape in string");
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? "")) fail("invalid escape in string");
      } else if (text.charCodeAt(i) < 0x20) fail("control character in string (escape it)");
      i++;
    }
    if (i >= text.length) fail("unterminated string");
    i++;
  };
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match) fail(`unexpected ${found()}, expected a JSON value`);
    i += (match as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") return object();
    if (c === "[") return array();
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    fail(`unexpected ${found()}, expected a JSON value`);
  };
  const object = (): void => {
    i++;
    ws();
    if (text[i] === "}") {
      i++;
      return;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') fail(`unexpected ${found()}, expected a property name in double quotes`);
      string();
      ws();
      if (text[i] !== ":") fail(`unexpected ${found()}, expected ':' after the property name`);
      i++;
      value();
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "}") {
        i++;
        return;
      }
      fail(`unexpected ${found()}, expected ',' or '}' after a property value`);
    }
  };
  const array = (): void => {
    i++;
    ws();
    if (text[i] === "]") {
      i++;
      return;
    }
    for (;;) {
      value();
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "]") {
        i++;
        return;
      }
      fail(`unexpected ${found()}, expected ',' or ']' after an array element`);
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${found()} after the end of the JSON value`);
    return undefined;
  } catch (error) {
    const located =
      error instanceof Located
        ? error
        : error instanceof RangeError
          ? new Located(i, "the JSON is nested too deeply")
          : undefined;
    if (!located) throw error;
    const before = text.slice(0, located.offset).split("\n");
    return {
      offset: located.offset,
      line: before.length,
      column: before[before.length - 1].length + 1,
      message: located.message,
    };
  }
}

class Located extends Error {
  readonly offset: number;
  constructor(offset: number, message: string) {
    super(message);
    this.offset = offset;
  }
}
