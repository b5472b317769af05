/** What the page takes from people and links before it reaches the server: names (src/people.ts), invite fragments (src/invite.ts), codes (src/codes.ts). */

import { describe, expect, test } from 'vitest';

import { formatCode } from '../src/codes';
import { parseFragment } from '../src/invite';
import { cleanName, MAX_NAME } from '../src/people';

const PAGE = 'https://parley.example';

describe('cleanName', () => {
  test('NFC, trimmed, without control or format characters', () => {
    expect(cleanName('  Ame\u0301lie\u0007 ')).toBe('Amélie');
    expect(cleanName('Ana\u200bMaria')).toBe('AnaMaria'); // zero-width space: a format character
    expect(cleanName('a\u2028b')).toBe('ab');
  });

  test('the joiners that Persian names and emoji need are kept', () => {
    expect(cleanName('می\u200cخواهم')).toBe('می\u200cخواهم');
    expect(cleanName('👩\u200d💻')).toBe('👩\u200d💻');
  });

  test('at most MAX_NAME code points, as the server counts them (an emoji is one, not two UTF-16 units)', () => {
    expect(Array.from(cleanName('😀'.repeat(MAX_NAME + 5)))).toHaveLength(MAX_NAME);
    expect(cleanName(`${'x'.repeat(MAX_NAME - 1)} y`)).toBe('x'.repeat(MAX_NAME - 1));
  });
});

describe('parseFragment', () => {
  test("a bare token: the server is the page's own origin", () => {
    expect(parseFragment('abc.DEF-_1', PAGE)).toStrictEqual({ token: 'abc.DEF-_1', server: PAGE, delegation: null });
  });

  test('a named server is reduced to its origin; only http(s) servers count', () => {
    expect(parseFragment('server=https%3A%2F%2Fhq.example%3A8443%2Fpath&token=t1', PAGE)).toStrictEqual({
      token: 't1',
      server: 'https://hq.example:8443',
      delegation: null,
    });
    expect(parseFragment('server=javascript%3Aalert(1)&token=t1', PAGE)).toBeNull();
    expect(parseFragment('server=not%20a%20url&token=t1', PAGE)).toBeNull();
  });

  test("the own delegation's fingerprint: 30 digits, spaces allowed; anything else breaks the link", () => {
    const digits = '123456789012345678901234567890';
    expect(parseFragment(`token=t1&delegation=${digits}`, PAGE)).toStrictEqual({ token: 't1', server: PAGE, delegation: digits });
    expect(parseFragment('token=t1&delegation=12345+67890+12345+67890+12345+67890', PAGE)?.delegation).toBe('123456789012345678901234567890');
    expect(parseFragment('token=t1&delegation=1234', PAGE)).toBeNull();
    expect(parseFragment(`token=t1&delegation=${digits}x`, PAGE)).toBeNull();
  });

  test('no fragment, or parameters without a token, is no invite', () => {
    expect(parseFragment('', PAGE)).toBeNull();
    expect(parseFragment('server=https%3A%2F%2Fhq.example', PAGE)).toBeNull();
    expect(parseFragment('token=', PAGE)).toBeNull();
  });
});

describe('formatCode', () => {
  test('digits in groups of five; spaces already there are kept as one', () => {
    expect(formatCode('123451234512345')).toBe('12345 12345 12345');
    expect(formatCode('12345  67890')).toBe('12345 67890');
  });

  test('anything but whole groups of digits is refused', () => {
    expect(() => formatCode('1234')).toThrow(/groups of five/);
    expect(() => formatCode('12345abcde')).toThrow(/groups of five/);
    expect(() => formatCode('')).toThrow(/groups of five/);
  });
});
