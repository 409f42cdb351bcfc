/**
 * UTF-8 without `TextEncoder`, which is a Web API and not ECMAScript: the
 * core runs with no runtime's globals.
 *
 * @module
 */

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
