/** Parsed command line: positional arguments and `--flag` / `--option value` pairs. */
export interface ParsedArgs {
  readonly positional: string[];
  readonly flags: Set<string>;
  readonly options: Map<string, string>;
  /** Every value of each repeatable option, in order. */
  readonly lists: Map<string, string[]>;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Parses `args`; `valued` names the options that take a value (`--dlq FILE` or `--dlq=FILE`), `repeated`
 * those that take one each time they are given.
 */
export function parseArgs(
  args: readonly string[],
  spec: { valued: readonly string[]; flags: readonly string[]; repeated?: readonly string[] },
): ParsedArgs {
  const positional: string[] = [];
  const flags = new Set<string>();
  const options = new Map<string, string>();
  const lists = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-" || !arg.startsWith("-")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = (eq > 0 ? arg.slice(0, eq) : arg).replace(/^--?/, "");
    if (spec.valued.includes(name) || spec.repeated?.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      if (spec.valued.includes(name)) options.set(name, value);
      else lists.set(name, [...(lists.get(name) ?? []), value]);
    } else if (spec.flags.includes(name) && eq < 0) {
      flags.add(name);
    } else {
      throw new UsageError(`unknown option ${arg}`);
    }
  }
  return { positional, flags, options, lists };
}
