/**
 * A statement: the plaintext of a position, outcome, action or decline (docs/record.md,
 * "Statement"). Entries carry only its commitment; the text travels encrypted beside them.
 *
 *     u8     version = 1
 *     opaque salt        32 random bytes: the commitment reveals nothing, not even a guessed text
 *     text   text        1 to 4000 bytes of UTF-8, NFC
 *     text   owner       an action's owner ("" otherwise), at most 200 bytes
 *     text   due         an action's due date as written ("" otherwise), at most 100 bytes
 *
 * `commitment = SHA-256("parley record statement v1" || 0x00 || statement)`.
 */

import { Reader, sameBytes, SignedDocument, Writer, type Bytes } from '../identity/encoding';
import { sha256 } from '../identity/fingerprint';

const LABEL = new TextEncoder().encode('parley record statement v1\0');
export const SALT_SIZE = 32;
export const MAX_TEXT = 4000;
export const MAX_OWNER = 200;
export const MAX_DUE = 100;

function checkText(value: string, what: string, min: number, max: number): void {
  const size = new TextEncoder().encode(value).length;
  if (size < min || size > max) throw new RangeError(`${what} is ${min} to ${max} bytes of UTF-8`);
  // One byte form per text: a signer signs what every reader's screen shows, in one normal form.
  if (value.normalize('NFC') !== value) throw new RangeError(`${what} must be NFC`);
}

export class Statement {
  constructor(
    readonly salt: Bytes,
    readonly text: string,
    readonly owner: string = '',
    readonly due: string = '',
  ) {
    if (salt.length !== SALT_SIZE) throw new RangeError(`a statement's salt is ${SALT_SIZE} bytes`);
    checkText(text, "a statement's text", 1, MAX_TEXT);
    checkText(owner, "an action's owner", 0, MAX_OWNER);
    checkText(due, "an action's due date", 0, MAX_DUE);
  }

  /** A statement as a person wrote it (made NFC), under a fresh random salt (`salt` given: a test's known answer). */
  static make(text: string, owner = '', due = '', salt: Bytes = crypto.getRandomValues(new Uint8Array(SALT_SIZE))): Statement {
    return new Statement(salt, text.normalize('NFC'), owner.normalize('NFC'), due.normalize('NFC'));
  }

  toBytes(): Bytes {
    return new Writer().u8(SignedDocument.VERSION).opaque(this.salt).text(this.text).text(this.owner).text(this.due).bytes();
  }

  /** The one statement these bytes are; RangeError for anything else (a non-canonical form too). */
  static fromBytes(data: Uint8Array): Statement {
    const reader = new Reader(data);
    if (reader.u8('version') !== SignedDocument.VERSION) throw new RangeError(`a statement is version ${SignedDocument.VERSION}`);
    const statement = new Statement(reader.opaque('salt'), reader.text('text'), reader.text('owner'), reader.text('due'));
    reader.end();
    if (!sameBytes(statement.toBytes(), data)) throw new RangeError('the statement is not in its canonical form');
    return statement;
  }

  commitment(): Promise<Bytes> {
    return sha256(LABEL, this.toBytes());
  }
}
