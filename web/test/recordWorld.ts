/**
 * A certified summit for the record's unit tests: two delegations with real Ed25519 keys, pins,
 * real P-256 devices with certificates, and a scribe that writes entries as an honest device
 * would (its own RecordView tracks seq and prev). The server is faked: a test delivers the
 * scribe's entries to another view in whatever order, or altered, as a hostile server would.
 */

import type { Role } from '../src/generated/codes';
import { privateJwk } from '../src/e2ee/signingKey';
import { issue, type DeviceCertificate } from '../src/identity/certificate';
import { DeviceClaim } from '../src/identity/claim';
import { deviceSigner, type DeviceSigner } from '../src/identity/deviceKey';
import { DelegationKey } from '../src/identity/delegationKey';
import { unbase64url, type Bytes } from '../src/identity/encoding';
import { signPins, verifyPins, type Pins } from '../src/identity/pins';
import { ZEROS, signEntry, type EntryKind, type RecordEntry } from '../src/record/entry';
import { signHead, type RecordHead } from '../src/record/head';
import { encryptStatement, keyIdOf, newRecordKey } from '../src/record/keys';
import { SignerBook } from '../src/record/signers';
import { Statement } from '../src/record/statement';
import { RecordView } from '../src/record/view';

export const SUMMIT = 'summit-record';
export const A = 'Delegation A';
export const B = 'Delegation B';

export interface Device {
  readonly delegation: string;
  readonly userId: number;
  readonly key: Bytes;
  readonly jwk: JsonWebKey;
  readonly sign: DeviceSigner;
  readonly certificate: DeviceCertificate;
}

export interface Delegation {
  readonly name: string;
  readonly key: DelegationKey;
  readonly seed: Bytes; // a copy: the officer's key file, to open a delegation grant
}

async function delegation(name: string): Promise<Delegation> {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const seed = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey)).slice(-32);
  return { name, key: await DelegationKey.fromSeed(seed.slice(), publicKey), seed };
}

async function device(of: Delegation, role: Role, userId: number): Promise<Device> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const key = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const { d } = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const jwk = privateJwk({ private: unbase64url(d ?? ''), public: key });
  const claim = new DeviceClaim(SUMMIT, of.name.replace(' ', '-'), of.name, role, [`Person ${userId}`], null, key, userId);
  const certificate = await issue(of.key, claim, 0n, 1n << 40n);
  return { delegation: of.name, userId, key, jwk, sign: await deviceSigner(jwk), certificate };
}

export interface World {
  readonly a: Delegation;
  readonly b: Delegation;
  readonly principalA: Device;
  readonly principalB: Device;
  readonly delegateB: Device; // certified, not a signer unless a list names it
  readonly pins: Pins; // as Delegation A's devices hold them
  readonly recordKey: Bytes;
}

export async function makeWorld(): Promise<World> {
  const [a, b] = [await delegation(A), await delegation(B)];
  const fingerprints = new Map([[A, await a.key.fingerprint()], [B, await b.key.fingerprint()]]);
  const pins = await verifyPins(await signPins(a.key, SUMMIT, 1n, fingerprints), await a.key.fingerprint(), SUMMIT);
  return { a, b, principalA: await device(a, 'principal', 1), principalB: await device(b, 'principal', 2), delegateB: await device(b, 'delegate', 3), pins, recordKey: newRecordKey() };
}

/** What a device of Delegation A knows of the summit's devices. */
export function bookOf(world: World): SignerBook {
  const book = new SignerBook(SUMMIT, world.pins);
  for (const d of [world.principalA, world.principalB, world.delegateB]) book.addCertificate(d.certificate, d.delegation);
  return book;
}

export class FakeClock {
  now = 1_800_000_000_000;

  readonly read = (): number => this.now;
}

/** A client's view, on a fake clock, holding the record key unless told otherwise. */
export async function viewOf(world: World, clock: FakeClock, withKey = true): Promise<RecordView> {
  const view = new RecordView(SUMMIT, [A, B], bookOf(world), clock.read);
  if (withKey) await view.holdKey(world.recordKey);
  return view;
}

export interface Written {
  readonly entry: RecordEntry;
  readonly ciphertext: Bytes | null;
}

/** Writes entries as honest devices do, onto its own verified copy (which must take each one). */
export class Scribe {
  readonly written: Written[] = [];

  private constructor(
    readonly world: World,
    readonly view: RecordView,
  ) {}

  static async of(world: World): Promise<Scribe> {
    return new Scribe(world, await viewOf(world, new FakeClock()));
  }

  async write(by: Device, kind: EntryKind, text = '', refers: Bytes = ZEROS, owner = '', due = ''): Promise<Written> {
    const statement = text === '' ? null : Statement.make(text, owner, due);
    const log = this.view.log;
    const entry = await signEntry(
      {
        summitId: SUMMIT,
        seq: log.length,
        prev: log.head,
        entryKind: kind,
        refers: kind === 'seal' ? (log.sealedHead ?? log.head) : refers,
        commitment: statement === null ? ZEROS : await statement.commitment(),
        keyId: await keyIdOf(this.world.recordKey),
        epoch: 3n,
        time: 1_800_000_000_000n + log.length,
        signer: by.certificate.serial,
      },
      by.sign,
    );
    const ciphertext = statement === null ? null : await encryptStatement(this.world.recordKey, statement);
    const alarms = await this.view.receiveEntry(entry, ciphertext);
    if (alarms.length > 0 || this.view.log.length !== entry.seq + 1n) throw new Error(`the scribe's own view refused ${kind}: ${alarms.map((a) => a.text).join('; ')}`);
    const written = { entry, ciphertext };
    this.written.push(written);
    return written;
  }

  /** The hash of the entry written at `seq`. */
  hashOf(seq: number): Bytes {
    const logged = this.view.log.entries[seq];
    if (logged === undefined) throw new Error(`no entry ${seq}`);
    return logged.hash;
  }

  /** A member's head over the first `length` entries. */
  head(by: Device, length: number, hash: Bytes = length === 0 ? ZEROS : this.hashOf(length - 1)): Promise<RecordHead> {
    return signHead(SUMMIT, BigInt(length), hash, by.userId, by.sign);
  }
}

/** The course of docs/record.md's example: positions, two agreed outcomes, a declined one, an action, both seals. */
export async function fullCourse(scribe: Scribe): Promise<void> {
  const { principalA: a, principalB: b } = scribe.world;
  await scribe.write(a, 'position', 'Delegation A holds that the border stays open.');
  await scribe.write(b, 'position', 'Delegation B wants inspections at the border.');
  await scribe.write(a, 'outcome', 'The teams will keep in contact.');
  await scribe.write(b, 'sign', '', scribe.hashOf(2));
  await scribe.write(b, 'outcome', 'Les parties conviennent: café, 咖啡.');
  await scribe.write(a, 'sign', '', scribe.hashOf(4));
  await scribe.write(a, 'outcome', 'Inspections end in May.');
  await scribe.write(b, 'decline', 'Not before the ministers have seen it.', scribe.hashOf(6));
  await scribe.write(a, 'action', 'Draft the joint statement', ZEROS, 'José Núñez', 'Friday 12:00');
  await scribe.write(a, 'seal');
  await scribe.write(b, 'seal');
}
