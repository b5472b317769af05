/**
 * The record's documents (src/record/) on their own: each round-trips through bytes and text,
 * a non-canonical form is refused, and any one bit changed anywhere in a signed document is
 * refused, as malformed or as a signature that does not verify (as identityFormats.test.ts does
 * for certificates). Real WebCrypto; real keys from recordWorld.
 */

import { beforeAll, describe, expect, test } from 'vitest';

import { concat, type Bytes } from '../src/identity/encoding';
import { IdentityError } from '../src/identity/problems';
import { RecordEntry, signEntry, ZEROS, type EntryFields } from '../src/record/entry';
import { RecordHead } from '../src/record/head';
import { decryptStatement, grantToDelegation, grantToDevice, keyIdOf, openDelegationGrant, openDeviceGrant, RecordGrant } from '../src/record/keys';
import { SignerList, signSignerList } from '../src/record/signers';
import { Statement } from '../src/record/statement';
import { B, bookOf, fullCourse, makeWorld, Scribe, SUMMIT, type World } from './recordWorld';

let world: World;
let course: Scribe;

beforeAll(async () => {
  world = await makeWorld();
  course = await Scribe.of(world);
  await fullCourse(course);
});

describe('statements', () => {
  test('a statement round-trips, and is made NFC from what a person typed', () => {
    const statement = Statement.make('Cafe\u0301 for José', 'Ann', 'May 1');
    expect(statement.text).toBe('Café for José');
    expect(Statement.fromBytes(statement.toBytes())).toEqual(statement);
  });

  test.each([
    ['an empty text', () => Statement.make('')],
    ['a text of 4001 bytes', () => Statement.make('x'.repeat(4001))],
    ['an owner of 201 bytes', () => Statement.make('x', 'o'.repeat(201))],
    ['a text not in NFC', () => new Statement(new Uint8Array(32), 'Cafe\u0301')],
    ['a salt of 31 bytes', () => new Statement(new Uint8Array(31), 'x')],
    ['a byte after the last field', () => Statement.fromBytes(concat(Statement.make('x').toBytes(), Uint8Array.of(0)))],
  ])('%s is refused', (_name, make) => {
    expect(make).toThrow(RangeError);
  });
});

describe('entries', () => {
  function fields(over: Partial<EntryFields> = {}): EntryFields {
    return { summitId: SUMMIT, seq: 1n, prev: new Uint8Array(32).fill(1), entryKind: 'sign', refers: new Uint8Array(32).fill(2), commitment: ZEROS, keyId: new Uint8Array(16), epoch: 0n, time: 0n, signer: new Uint8Array(16), ...over };
  }

  test('an entry round-trips through bytes and text, and its hash is of its bytes', async () => {
    for (const { entry } of course.written) {
      expect(RecordEntry.fromText(entry.toText()).toBytes()).toEqual(entry.toBytes());
      expect(await RecordEntry.fromBytes(entry.toBytes()).hash()).toEqual(new Uint8Array(await crypto.subtle.digest('SHA-256', entry.toBytes())));
    }
  });

  test.each([
    ['a sign with a commitment', { commitment: new Uint8Array(32).fill(3) }],
    ['a position that refers to an entry', { entryKind: 'position', commitment: new Uint8Array(32).fill(3) }],
    ['a decline that refers to nothing', { entryKind: 'decline', refers: ZEROS, commitment: new Uint8Array(32).fill(3) }],
    ['entry 0 with a prev', { seq: 0n }],
    ['entry 1 without a prev', { prev: ZEROS }],
    ['a key id of 15 bytes', { keyId: new Uint8Array(15) }],
  ] as const)('%s is refused when made', (_name, over) => {
    expect(() => new RecordEntry(fields(over), new Uint8Array(64))).toThrow(RangeError);
  });

  test('an entry re-encoded with a longer field is not canonical: refused', async () => {
    const entry = await signEntry(fields(), world.principalA.sign);
    const bytes = entry.toBytes();
    expect(() => RecordEntry.fromBytes(concat(bytes.slice(0, -64), Uint8Array.of(0), bytes.slice(-64)))).toThrow(IdentityError);
  });
});

/** Every one-bit change of `bytes` is refused: `check` throws IdentityError (malformed) or answers false. */
async function everyBitRefused<T>(format: { fromBytes(data: Uint8Array): T }, bytes: Bytes, verifies: (document: T) => Promise<boolean>): Promise<Set<string>> {
  const outcomes = new Set<string>();
  for (let at = 0; at < bytes.length; at++) {
    for (const bit of [0x01, 0x80]) {
      const changed = bytes.slice();
      changed[at] = (changed[at] ?? 0) ^ bit;
      let outcome: string;
      try {
        outcome = (await verifies(format.fromBytes(changed))) ? 'verified' : 'bad_signature';
      } catch (e) {
        outcome = e instanceof IdentityError ? e.problem : String(e);
      }
      expect(outcome, `bit ${bit} of byte ${at}`).not.toBe('verified');
      outcomes.add(outcome);
    }
  }
  return outcomes;
}

describe('any one bit changed in a signed document is refused', () => {
  test('an entry', async () => {
    const action = course.written[8];
    if (action === undefined) throw new Error('no action entry');
    const entry = action.entry;
    const outcomes = await everyBitRefused(RecordEntry, entry.toBytes(), (e) => e.verify(world.principalA.key));
    expect([...outcomes].sort()).toEqual(['bad_signature', 'malformed']);
  });

  test('a head', async () => {
    const head = await course.head(world.principalB, 3);
    const outcomes = await everyBitRefused(RecordHead, head.toBytes(), (h) => h.verify(world.principalB.key));
    expect([...outcomes].sort()).toEqual(['bad_signature', 'malformed']);
  });

  test('a grant', async () => {
    const grant = await grantToDevice(world.recordKey, SUMMIT, world.principalB.key, world.principalA.certificate.serial, world.principalA.sign);
    const outcomes = await everyBitRefused(RecordGrant, grant.toBytes(), (g) => g.verify(world.principalA.key));
    expect([...outcomes].sort()).toEqual(['bad_signature', 'malformed']);
  });

  test('a signer list', async () => {
    const list = await signSignerList(world.b.key, SUMMIT, B, 1n, [world.delegateB.certificate.serial]);
    const book = bookOf(world);
    const outcomes = await everyBitRefused(SignerList, list.toBytes(), (l) => book.acceptList(l).then(() => true, () => false));
    expect([...outcomes].sort()).toEqual(['bad_signature', 'malformed']);
  });
});

describe('grants', () => {
  test('a device grant opens with the recipient\'s DAVE key and no other', async () => {
    const grant = RecordGrant.fromText((await grantToDevice(world.recordKey, SUMMIT, world.principalB.key, world.principalA.certificate.serial, world.principalA.sign)).toText());
    expect(await openDeviceGrant(grant, world.principalB.jwk)).toEqual(world.recordKey);
    await expect(openDeviceGrant(grant, world.delegateB.jwk)).rejects.toMatchObject({ problem: 'bad_text' });
  });

  test('a delegation grant opens with the delegation key\'s seed (the officer\'s key file) and no other', async () => {
    const grant = await grantToDelegation(world.recordKey, SUMMIT, world.b.key.publicKey, world.principalA.certificate.serial, world.principalA.sign);
    expect(grant.recipientKind).toBe('delegation');
    expect(await openDelegationGrant(grant, world.b.seed)).toEqual(world.recordKey);
    await expect(openDelegationGrant(grant, world.a.seed)).rejects.toMatchObject({ problem: 'bad_text' });
  });

  test('a text opens only under the record key it was written under', async () => {
    const [first] = course.written;
    if (first?.ciphertext == null) throw new Error('no text');
    const statement = await decryptStatement(world.recordKey, first.ciphertext, first.entry.commitment);
    expect(statement.text).toBe('Delegation A holds that the border stays open.');
    expect(first.entry.keyId).toEqual(await keyIdOf(world.recordKey));
    await expect(decryptStatement(new Uint8Array(32), first.ciphertext, first.entry.commitment)).rejects.toMatchObject({ problem: 'bad_text' });
  });
});
