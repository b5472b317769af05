/**
 * The one canonical byte form of every signed identity document, and its text armour
 * (docs/identity.md, "Formats"; the same bytes as parley.identity.encoding).
 *
 * A signature is over bytes, so each document has exactly one encoding, and a decoder accepts
 * only that one: it decodes, re-encodes, and refuses anything that does not come back byte for
 * byte. `u8`, `u16`, `u64` big-endian; `opaque` is `u16 length || bytes`; `text` is `opaque`
 * holding UTF-8; lists are `u8 count || items`. A signed document is `body || signature` (64
 * bytes), as text `<kind>:<base64url without padding>`.
 */

import { base64url } from '../e2ee/mlsWire';
import { IdentityError } from './problems';

export type Bytes = Uint8Array<ArrayBuffer>;

export const SIGNATURE_SIZE = 64; // Ed25519 signatures, and P-256 ECDSA signatures as r || s
export const MAX_OPAQUE = 0xffff;
export const MAX_DOCUMENT = 16 * 1024; // a certificate is ~300 bytes; a pin set of 200 delegations ~12 KiB
const U64_LIMIT = 1n << 64n;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Builds a body field by field, in the order its document gives. */
export class Writer {
  private readonly parts: Uint8Array[] = [];

  u8(value: number): this {
    this.parts.push(Uint8Array.of(value));
    return this;
  }

  u16(value: number): this {
    this.parts.push(Uint8Array.of(value >> 8, value & 0xff));
    return this;
  }

  u64(value: bigint | number): this {
    const part = new Uint8Array(8);
    new DataView(part.buffer).setBigUint64(0, BigInt(value));
    this.parts.push(part);
    return this;
  }

  opaque(value: Uint8Array): this {
    if (value.length > MAX_OPAQUE) throw new RangeError('a field holds at most 65535 bytes');
    this.u16(value.length);
    this.parts.push(value);
    return this;
  }

  text(value: string): this {
    return this.opaque(new TextEncoder().encode(value));
  }

  texts(values: readonly string[]): this {
    this.u8(values.length);
    for (const value of values) this.text(value);
    return this;
  }

  bytes(): Bytes {
    return concat(...this.parts);
  }
}

/** Reads a body back; every short read or stray byte is a RangeError naming the field. */
export class Reader {
  private at = 0;

  constructor(private readonly data: Uint8Array) {}

  private take(n: number, what: string): Bytes {
    if (this.at + n > this.data.length) throw new RangeError(`${what}: the document ends too soon`);
    const chunk = this.data.slice(this.at, this.at + n);
    this.at += n;
    return chunk;
  }

  u8(what: string): number {
    return this.take(1, what)[0] ?? 0;
  }

  u16(what: string): number {
    const [high = 0, low = 0] = this.take(2, what);
    return (high << 8) | low;
  }

  u64(what: string): bigint {
    return new DataView(this.take(8, what).buffer).getBigUint64(0);
  }

  opaque(what: string): Bytes {
    return this.take(this.u16(what), what);
  }

  text(what: string): string {
    try {
      return UTF8.decode(this.opaque(what));
    } catch (e) {
      if (e instanceof TypeError) throw new RangeError(`${what}: not UTF-8`);
      throw e;
    }
  }

  texts(what: string): string[] {
    const count = this.u8(what);
    return Array.from({ length: count }, () => this.text(what));
  }

  end(): void {
    if (this.at !== this.data.length) throw new RangeError('the document has bytes after its last field');
  }
}

export function concat(...parts: readonly Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Whether a u64 field's value fits: the constructors' check, so nothing written wraps. */
export function isU64(value: bigint): boolean {
  return value >= 0n && value < U64_LIMIT;
}

export function unbase64url(text: string): Bytes {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** `body || signature` -> [body, signature]. */
function splitSigned(data: Uint8Array): [Bytes, Bytes] {
  if (data.length > MAX_DOCUMENT) throw new RangeError(`a signed document has at most ${MAX_DOCUMENT} bytes`);
  if (data.length <= SIGNATURE_SIZE) throw new RangeError('the document is too short to hold a signature');
  return [data.slice(0, -SIGNATURE_SIZE), data.slice(-SIGNATURE_SIZE)];
}

export function armour(kind: string, data: Uint8Array): string {
  return `${kind}:${base64url(data)}`;
}

/**
 * The bytes of `<kind>:<base64url>`; blanks and line breaks inside are ignored (a terminal or a
 * mail wraps long lines), anything else that is not the one text of those bytes is refused:
 * padding, `+` and `/`, stray low bits in the last character.
 */
export function unarmour(kind: string, text: string): Bytes {
  const compact = text.replace(/\s+/g, '');
  const colon = compact.indexOf(':');
  if (colon < 0 || compact.slice(0, colon) !== kind) {
    throw new RangeError(`this is not a ${kind} (it should start with '${kind}:')`);
  }
  const payload = compact.slice(colon + 1);
  if (!BASE64URL.test(payload) || payload.length % 4 === 1) throw new RangeError(`a ${kind} is base64url after the colon`);
  if (payload.length > (MAX_DOCUMENT * 4) / 3 + 4) throw new RangeError(`a ${kind} has at most ${MAX_DOCUMENT} bytes`);
  const data = unbase64url(payload);
  // Stray low bits in the last character: another text for the same bytes.
  if (base64url(data) !== payload) throw new RangeError(`a ${kind} is base64url after the colon`);
  return data;
}

/**
 * What every signed document shares: `body() || signature` in bytes, `<kind>:<base64url>` as
 * text. Subclasses give their body (the version byte first); `decode` reads them back.
 */
export abstract class SignedDocument {
  static readonly VERSION = 1;

  protected constructor(readonly signature: Bytes) {
    if (signature.length !== SIGNATURE_SIZE) throw new RangeError(`a signature is ${SIGNATURE_SIZE} bytes`);
  }

  abstract get kind(): string;

  abstract body(): Bytes;

  toBytes(): Bytes {
    return concat(this.body(), this.signature);
  }

  toText(): string {
    return armour(this.kind, this.toBytes());
  }
}

/** A document kind: its text prefix, and how it reads its fields after the version byte. */
export interface DocumentFormat<T extends SignedDocument> {
  readonly KIND: string;
  readFields(reader: Reader, signature: Bytes): T;
}

/** Parse; whether the document is authentic, and good here, is for its verifier to say. */
export function decode<T extends SignedDocument>(format: DocumentFormat<T>, data: Uint8Array): T {
  try {
    const [body, signature] = splitSigned(data);
    const reader = new Reader(body);
    if (reader.u8('version') !== SignedDocument.VERSION) throw new RangeError(`not version ${SignedDocument.VERSION}`);
    const document = format.readFields(reader, signature);
    reader.end();
    // One byte form per document: what does not encode back to the same bytes is refused.
    if (!sameBytes(document.body(), body)) throw new RangeError('the document is not in its canonical form');
    return document;
  } catch (e) {
    // Parsing has no other failure than the input's: every error here is the document's.
    throw new IdentityError('malformed', `a ${format.KIND} that does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function decodeText<T extends SignedDocument>(format: DocumentFormat<T>, text: string): T {
  let data: Bytes;
  try {
    data = unarmour(format.KIND, text);
  } catch (e) {
    throw new IdentityError('malformed', e instanceof Error ? e.message : String(e));
  }
  return decode(format, data);
}
