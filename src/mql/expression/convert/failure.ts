/** A value `$convert` cannot convert; `onError` catches it. The message is MongoDB's. */
export class ConversionFailure extends Error {
  override readonly name = "ConversionFailure";
}

/** Throws MongoDB's conversion error: `<reason> in $convert with no onError value[: <detail>]`. */
export function conversionFailure(reason: string, detail?: string): never {
  throw new ConversionFailure(
    `${reason} in $convert with no onError value${detail === undefined ? "" : `: ${detail}`}`,
  );
}
