/**
 * Reading op 27's Add proposals (src/e2ee/mlsWire.ts): real key packages from davey (its Node
 * build), framed as the gateway frames external proposals
 * (src/parley/e2ee/mls_wire.py `external_proposal`; the signature is not checked here, so any
 * bytes stand in for it).
 */

import { expect, test } from 'vitest';

import daveyNode from '@snazzah/davey';

import type { DaveyModule } from '../src/e2ee/davey';
import { addedMembers, base64url, WireError } from '../src/e2ee/mlsWire';

/** davey's Node build. Its declarations want Node's Buffer where `DaveyModule` says Uint8Array (Buffers are what it gets here). */
const davey = daveyNode as unknown as DaveyModule;

function varint(n: number): number[] {
  if (n < 1 << 6) return [n];
  if (n < 1 << 14) return [0x40 | (n >> 8), n & 0xff];
  return [0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function vector(bytes: Uint8Array | number[]): number[] {
  return [...varint(bytes.length), ...bytes];
}

/** An MLSMessage: a PublicMessage from the external sender (index 0) carrying one proposal. */
function externalProposal(proposal: number[]): number[] {
  return [
    0, 1, 0, 1, // version 1, wire_format PublicMessage
    ...vector([1, 2, 3, 4]), // group_id
    0, 0, 0, 0, 0, 0, 0, 7, // epoch
    2, 0, 0, 0, 0, // sender: external, index 0
    ...vector([]), // authenticated_data
    2, // content_type: proposal
    ...proposal,
    ...vector(Array.from({ length: 70 }, () => 0x30)), // signature
  ];
}

function add(keyPackage: Uint8Array): number[] {
  return [0, 1, ...keyPackage];
}

function op27Items(...messages: number[][]): Uint8Array {
  return new Uint8Array(vector(messages.flat()));
}

function member(userId: string): { keyPackage: Uint8Array; publicKey: Uint8Array } {
  const pair = davey.generateP256Keypair();
  const session = new davey.DAVESession(1, userId, '42', pair);
  return { keyPackage: new Uint8Array(session.getSerializedKeyPackage()), publicKey: new Uint8Array(pair.public) };
}

test('each Add yields the user id of its credential and the signature key of its leaf; a Remove yields nothing', () => {
  const a = member('18446744073709551615'); // the largest u64: read exactly, not through a double
  const b = member('1234567890123');
  const remove = [0, 3, 0, 0, 0, 2];
  const items = op27Items(externalProposal(add(a.keyPackage)), externalProposal(remove), externalProposal(add(b.keyPackage)));
  const added = addedMembers(items);
  expect(added.map((m) => [m.userId, base64url(m.signatureKey)])).toStrictEqual([
      ['18446744073709551615', base64url(a.publicKey)],
      ['1234567890123', base64url(b.publicKey)],
    ]);
});

test('a truncated, padded or foreign proposal is refused, not skipped', () => {
  const good = externalProposal(add(member('7').keyPackage));
  expect(() => addedMembers(op27Items(good.slice(0, -10)))).toThrow(WireError);
  expect(() => addedMembers(new Uint8Array([...op27Items(good), 0]))).toThrow(WireError);
  const update = externalProposal([0, 2, 1, 2, 3]);
  expect(() => addedMembers(op27Items(update))).toThrow(WireError);
  const notMinimal = new Uint8Array([0x40, 0x01, 0x00]);
  expect(() => addedMembers(notMinimal)).toThrow(WireError);
});

test('base64url has no padding and uses the URL alphabet', () => {
  expect(base64url(new Uint8Array([0xfb, 0xff, 0xfe]))).toBe('-__-');
  expect(base64url(new Uint8Array([1]))).toBe('AQ');
});
