/**
 * The browser's record port (src/record/) against the Python core's known answers
 * (tests/unit/record/vectors.json): statements, commitments and ciphertexts, entries, the head,
 * the signer list and both grants come out byte for byte; signatures (random in WebCrypto,
 * RFC 6979 in Python) verify both ways. Real WebCrypto, no fakes.
 */

import { existsSync, readFileSync } from 'node:fs';

import { describe, expect, test } from 'vitest';

import { privateJwk } from '../src/e2ee/signingKey';
import { DelegationKey } from '../src/identity/delegationKey';
import { hex } from '../src/identity/encoding';
import { IdentityError } from '../src/identity/problems';
import { signPins, verifyPins } from '../src/identity/pins';
import { RecordEntry, signEntry } from '../src/record/entry';
import { RecordHead, signHead } from '../src/record/head';
import { decryptStatement, ed25519ToX25519, encryptStatement, grantToDelegation, grantToDevice, keyIdOf, openDelegationGrant, openDeviceGrant, RecordGrant, x25519ScalarOf } from '../src/record/keys';
import { SignerBook, SignerList, signSignerList } from '../src/record/signers';
import { Statement } from '../src/record/statement';
import { fromHex } from './identityVectors';
import { FIXTURE, RECORD, recordDeviceSigner, REPO_VECTORS } from './recordVectors';

const SECRET = fromHex(RECORD.record_key.secret);
const DEVICE_KEY = fromHex(RECORD.device_key);

function delegationKey(): Promise<DelegationKey> {
  return DelegationKey.fromSeed(fromHex(RECORD.delegation_seed), fromHex(RECORD.delegation_public_key));
}

// Until the Python core is merged the repository has no vectors file; from then on the fixture must not drift from it.
test.runIf(existsSync(REPO_VECTORS))('the fixture is the Python core\'s vectors file, byte for byte', () => {
  expect(readFileSync(FIXTURE, 'utf8')).toBe(readFileSync(REPO_VECTORS, 'utf8'));
});

describe('statements', () => {
  test.each(RECORD.statements.map((s) => [s.text, s] as const))('%s: the bytes, commitment and ciphertext Python gives', async (_text, s) => {
    const statement = new Statement(fromHex(s.salt), s.text, s.owner, s.due);
    expect(hex(statement.toBytes())).toBe(s.hex);
    expect(hex(await statement.commitment())).toBe(s.commitment);
    expect(hex(await encryptStatement(SECRET, statement, fromHex(s.nonce)))).toBe(s.ciphertext);
    const opened = await decryptStatement(SECRET, fromHex(s.ciphertext), fromHex(s.commitment));
    expect([opened.text, opened.owner, opened.due, hex(opened.toBytes())]).toEqual([s.text, s.owner, s.due, s.hex]);
  });

  test('the record key has the key id Python gives', async () => {
    expect(hex(await keyIdOf(SECRET))).toBe(RECORD.record_key.key_id);
  });
});

describe('entries', () => {
  test.each(RECORD.entries.map((e) => [e.seq, e.kind, e] as const))('entry %i (%s): its body, text and hash, and its signature verifies', async (_seq, _kind, e) => {
    const entry = RecordEntry.fromText(e.text);
    expect(hex(entry.body())).toBe(e.body);
    expect(entry.toText()).toBe(e.text);
    expect(hex(await entry.hash())).toBe(e.hash);
    expect([entry.seq, entry.entryKind, hex(entry.prev), hex(entry.refers), hex(entry.commitment)]).toEqual([BigInt(e.seq), e.kind, e.prev, e.refers, e.commitment]);
    expect([hex(entry.keyId), entry.epoch, entry.time, hex(entry.signer)]).toEqual([e.key_id, BigInt(e.epoch), BigInt(e.time), e.signer]);
    expect(await entry.verify(DEVICE_KEY)).toBe(true);
    const fields = { summitId: RECORD.summit_id, seq: BigInt(e.seq), prev: fromHex(e.prev), entryKind: e.kind, refers: fromHex(e.refers), commitment: fromHex(e.commitment), keyId: fromHex(e.key_id), epoch: BigInt(e.epoch), time: BigInt(e.time), signer: fromHex(e.signer) };
    const ours = await signEntry(fields, await recordDeviceSigner());
    expect(hex(ours.body())).toBe(e.body);
    expect(await ours.verify(DEVICE_KEY)).toBe(true);
  });

  test('each entry chains to the one before, and the head names the last', async () => {
    const hashes = RECORD.entries.map((e) => e.hash);
    RECORD.entries.slice(1).forEach((e, i) => expect(e.prev).toBe(hashes[i]));
    const head = RecordHead.fromText(RECORD.head.text);
    expect(hex(head.body())).toBe(RECORD.head.body);
    expect([head.length, hex(head.head), head.userId]).toEqual([BigInt(RECORD.head.length), hashes.at(-1), RECORD.head.user_id]);
    expect(await head.verify(DEVICE_KEY)).toBe(true);
    const ours = await signHead(RECORD.summit_id, head.length, head.head, head.userId, await recordDeviceSigner());
    expect(hex(ours.body())).toBe(RECORD.head.body);
  });
});

test('the signer list decodes, encodes back, is made alike here, and is taken under its pinned key', async () => {
  const s = RECORD.signers;
  const list = SignerList.fromText(s.text);
  expect([list.delegation, list.sequence, list.serials.map(hex)]).toEqual([s.delegation, BigInt(s.sequence), s.serials]);
  expect(list.toText()).toBe(s.text);
  const key = await delegationKey();
  const ours = await signSignerList(key, RECORD.summit_id, s.delegation, BigInt(s.sequence), s.serials.map(fromHex));
  expect(ours.toText(), 'Ed25519 is deterministic: the same text').toBe(s.text);
  const own = await key.fingerprint();
  const pins = await verifyPins(await signPins(key, RECORD.summit_id, 1n, new Map([[s.delegation, own]])), own, RECORD.summit_id);
  await new SignerBook(RECORD.summit_id, pins).acceptList(list);
});

describe('grants', () => {
  test('the device grant is made byte for byte and opens with the recipient device\'s private key', async () => {
    const g = RECORD.device_grant;
    const vector = RecordGrant.fromText(g.text);
    expect(hex(vector.body())).toBe(g.body);
    expect(await vector.verify(DEVICE_KEY)).toBe(true);
    const recipientJwk = privateJwk({ private: fromHex(g.recipient_private_scalar), public: fromHex(g.recipient) });
    expect(hex(await openDeviceGrant(vector, recipientJwk))).toBe(RECORD.record_key.secret);
    const ephemeralJwk = privateJwk({ private: fromHex(g.ephemeral_private_scalar), public: vector.ephemeral });
    const curve = { name: 'ECDH', namedCurve: 'P-256' };
    const ephemeral = {
      privateKey: await crypto.subtle.importKey('jwk', ephemeralJwk, curve, false, ['deriveBits']),
      publicKey: await crypto.subtle.importKey('raw', vector.ephemeral, curve, true, []),
    };
    const ours = await grantToDevice(SECRET, RECORD.summit_id, fromHex(g.recipient), vector.granter, await recordDeviceSigner(), { ephemeral, nonce: fromHex(g.nonce) });
    expect(hex(ours.body())).toBe(g.body);
  });

  test('the delegation grant is made byte for byte and opens with the delegation key\'s seed', async () => {
    const g = RECORD.delegation_grant;
    const vector = RecordGrant.fromText(g.text);
    expect(hex(vector.body())).toBe(g.body);
    expect(await vector.verify(DEVICE_KEY)).toBe(true);
    expect(hex(await openDelegationGrant(vector, fromHex(RECORD.delegation_seed)))).toBe(RECORD.record_key.secret);
    const pkcs8 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20, ...fromHex(g.ephemeral_private));
    const ephemeral = {
      privateKey: await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'X25519' }, false, ['deriveBits']),
      publicKey: await crypto.subtle.importKey('raw', fromHex(g.ephemeral_public), { name: 'X25519' }, true, []),
    };
    const ours = await grantToDelegation(SECRET, RECORD.summit_id, fromHex(RECORD.delegation_public_key), vector.granter, await recordDeviceSigner(), { ephemeral, nonce: fromHex(g.nonce) });
    expect(hex(ours.body())).toBe(g.body);
  });

  test.each(RECORD.x25519.map((x) => [x.ed25519_public, x] as const))('%s: its X25519 form and scalar are those Python gives', async (_key, x) => {
    expect(hex(ed25519ToX25519(fromHex(x.ed25519_public)))).toBe(x.x25519_public);
    expect(hex(await x25519ScalarOf(fromHex(x.ed25519_seed)))).toBe(x.x25519_private);
  });
});

test.each(RECORD.refused.map((r) => [r.name, r] as const))('%s: refused', (_name, r) => {
  const decode = r.kind === 'statement' ? () => Statement.fromBytes(fromHex(r.hex)) : () => RecordEntry.fromBytes(fromHex(r.hex));
  expect(decode).toThrow(r.kind === 'statement' ? RangeError : IdentityError);
});

