/** UTF-8 and code-point helpers for the string operators (JS strings are UTF-16). */

/** Bytes the string takes in UTF-8 (lone surrogates count as U+FFFD, as Buffer encodes them). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Number of Unicode code points. */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** UTF-16 index of the code point at `cp` (or text.length when past the end). */
export function utf16IndexOfCodePoint(text: string, cp: number, from = 0, fromCp = 0): number {
  let i = from;
  for (let n = fromCp; n < cp && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i +=
      c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
        ? 2
        : 1;
  }
  return i;
}

/** Code points before UTF-16 index `index`. */
export function codePointsBefore(text: string, index: number): number {
  return codePointLength(text.slice(0, index));
}

/** True when the byte is a UTF-8 continuation byte (10xxxxxx). */
export function isContinuationByte(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}
