/**
 * Limits of the `identify` op (docs/protocol.md): 1 to 8 names of at most 64 characters (the
 * server counts code points after NFC; an input's `maxlength` counts UTF-16 units, never more),
 * and only characters that print: no control or format characters but the joiners ZWNJ and ZWJ.
 */
export const MAX_PEOPLE = 8;
export const MAX_NAME = 64;

/** Characters a name may not hold (the server refuses them): control, format (but the joiners ZWNJ and ZWJ, which Persian and Indic names and emoji need), surrogate, private use, unassigned, line and paragraph separators. */
const NOT_IN_NAMES = /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

/** A name as typed, made one the server accepts: NFC, without what does not print, trimmed, at most MAX_NAME characters. */
export function cleanName(typed: string): string {
  const printable = typed.normalize('NFC').replace(NOT_IN_NAMES, '').trim();
  return Array.from(printable).slice(0, MAX_NAME).join('').trim(); // code points, as the server counts
}
