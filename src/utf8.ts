/**
 * UTF-8 and UTF-16 well-formedness, in the one place the core handles them.
 * Written out because `TextEncoder` is a Web API, not ECMAScript, and
 * `String.prototype.isWellFormed` is ES2024: the core runs with no runtime's
 * globals and is checked against ES2022.
 *
 * @module
 */

/** The text put where a lone surrogate was, as `TextEncoder` does. */
const REPLACEMENT_CHARACTER = "\ufffd";

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/**
 * Bytes the string takes in UTF-8, which is what PostgreSQL's fixed-size
 * `char` arrays count. A lone surrogate counts as the three bytes of the
 * U+FFFD that {@link utf8Encode} puts in its place.
 *
 * @example
 * ```ts
 * import { utf8ByteLength } from "./utf8.ts";
 * utf8ByteLength("é"); // 2
 * utf8ByteLength("😀"); // 4
 * ```
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (isHighSurrogate(unit) && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Whether every surrogate in the string is half of a pair: only such a string
 * has a UTF-8 form, so only it crosses a process boundary unchanged (an IPC
 * channel that writes UTF-8 replaces a lone surrogate, or refuses the
 * message). The same answer as ES2024's `String.prototype.isWellFormed`.
 *
 * @example
 * ```ts
 * import { isWellFormedUtf16 } from "./utf8.ts";
 * isWellFormedUtf16("😀"); // true
 * isWellFormedUtf16("\ud800"); // false
 * ```
 */
export function isWellFormedUtf16(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (!isHighSurrogate(unit) || !isLowSurrogate(text.charCodeAt(i + 1))) return false;
    i++;
  }
  return true;
}

/**
 * The string with every lone surrogate replaced by U+FFFD, like ES2024's
 * `String.prototype.toWellFormed`: for quoting a refused value in a message
 * that must itself travel.
 *
 * @example
 * ```ts
 * import { toWellFormedUtf16 } from "./utf8.ts";
 * toWellFormedUtf16("a\ud800b"); // "a\ufffdb"
 * ```
 */
export function toWellFormedUtf16(text: string): string {
  if (isWellFormedUtf16(text)) return text;
  let out = "";
  for (const char of text) {
    // A for-of step is a whole pair or one unit; one unit in the surrogate range is lone.
    const unit = char.charCodeAt(0);
    out += char.length === 1 && unit >= 0xd800 && unit <= 0xdfff ? REPLACEMENT_CHARACTER : char;
  }
  return out;
}

/**
 * Encode a string as UTF-8 bytes; a lone surrogate becomes U+FFFD, as
 * `TextEncoder` makes it.
 *
 * @example
 * ```ts
 * import { utf8Encode } from "./utf8.ts";
 * utf8Encode("é"); // Uint8Array [0xc3, 0xa9]
 * ```
 */
export function utf8Encode(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const char of text) {
    let code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
  }
  return Uint8Array.from(bytes);
}
