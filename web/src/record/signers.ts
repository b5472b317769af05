/**
 * Who may sign for a delegation (docs/record.md "Signer list"): every device whose certificate
 * names the role `principal`, and those its officer names in a `parley-signers` list, signed by
 * the delegation key (Ed25519) over `"parley signers v1" || 0x00 || body`:
 *
 *     u8     version = 1
 *     text   summit_id
 *     text   delegation     the delegation's name
 *     u64    sequence       a later list replaces an earlier one
 *     u8 n, opaque serial[n]   the certificates (16-byte serials) that may sign for it, 0 to 64
 *     opaque issuer         the delegation's Ed25519 public key
 *
 * `SignerBook` is what a client knows of the summit's devices: the certificates it has verified
 * and found pinned (the caller's identity checks: epochCheck), and each delegation's latest list.
 */

import type { DeviceCertificate } from '../identity/certificate';
import { verifySignature, type DelegationKey } from '../identity/delegationKey';
import { concat, decode, decodeText, hex, isU64, sameBytes, SignedDocument, Writer, type Bytes, type Reader } from '../identity/encoding';
import { Fingerprint, PUBLIC_KEY_SIZE } from '../identity/fingerprint';
import type { Pins } from '../identity/pins';
import { SERIAL_SIZE } from '../identity/revocation';
import { cleanName } from '../people';
import { RecordError } from './problems';

const LABEL = new TextEncoder().encode('parley signers v1\0');
export const MAX_SIGNERS = 64;

export class SignerList extends SignedDocument {
  static readonly KIND = 'parley-signers';

  constructor(
    readonly summitId: string,
    readonly delegation: string,
    readonly sequence: bigint,
    readonly serials: readonly Bytes[],
    readonly issuer: Bytes,
    signature: Bytes,
  ) {
    super(signature);
    if (!isU64(sequence) || sequence < 1n) throw new RangeError('a sequence number starts at 1');
    if (serials.length > MAX_SIGNERS || serials.some((s) => s.length !== SERIAL_SIZE)) {
      throw new RangeError(`a signer list names at most ${MAX_SIGNERS} serials of ${SERIAL_SIZE} bytes`);
    }
    const ascending = serials.every((serial, i) => i === 0 || hex(serials[i - 1] ?? serial) < hex(serial));
    if (!ascending) throw new RangeError("a signer list's serials are ascending and distinct"); // one byte form per list
    if (cleanName(delegation) !== delegation) throw new RangeError("the delegation's name must be NFC, without surrounding blanks");
    if (issuer.length !== PUBLIC_KEY_SIZE) throw new RangeError('the issuer is a 32-byte Ed25519 public key');
  }

  get kind(): string {
    return SignerList.KIND;
  }

  body(): Bytes {
    const writer = new Writer().u8(SignedDocument.VERSION).text(this.summitId).text(this.delegation).u64(this.sequence).u8(this.serials.length);
    for (const serial of this.serials) writer.opaque(serial);
    return writer.opaque(this.issuer).bytes();
  }

  static readFields(reader: Reader, signature: Bytes): SignerList {
    const summitId = reader.text('summit');
    const delegation = reader.text('delegation');
    const sequence = reader.u64('sequence');
    const serials = Array.from({ length: reader.u8('serials') }, () => reader.opaque('serial'));
    return new SignerList(summitId, delegation, sequence, serials, reader.opaque('issuer'), signature);
  }

  static fromBytes(data: Uint8Array): SignerList {
    return decode(SignerList, data);
  }

  static fromText(text: string): SignerList {
    return decodeText(SignerList, text);
  }
}

/** The officer's list of the devices that may sign for their delegation (the console signs it). */
export async function signSignerList(key: DelegationKey, summitId: string, delegation: string, sequence: bigint, serials: readonly Bytes[]): Promise<SignerList> {
  const ascending = [...serials].sort((a, b) => (hex(a) < hex(b) ? -1 : 1));
  const unsigned = new SignerList(summitId, delegation, sequence, ascending, key.publicKey, new Uint8Array(64));
  return new SignerList(summitId, delegation, sequence, ascending, key.publicKey, await key.sign(concat(LABEL, unsigned.body())));
}

/** A certified device of the summit, as a record entry or grant names it (by its certificate's serial). */
export interface RecordDevice {
  readonly certificate: DeviceCertificate; // a readout carries it, for an offline reader to check against the pins
  readonly serial: Bytes;
  readonly delegation: string; // the pinned delegation whose key issued its certificate
  readonly deviceKey: Bytes; // its DAVE signature key: entries, heads and grants verify under it
  readonly principal: boolean;
}

export class SignerBook {
  private readonly devices = new Map<string, RecordDevice>(); // serial (hex) -> device
  private readonly lists = new Map<string, SignerList>(); // delegation -> its latest list

  constructor(
    readonly summitId: string,
    readonly pins: Pins,
  ) {}

  /**
   * A certificate the caller has verified (signature, summit, validity, revocation) and whose
   * issuer is pinned for `delegation`: identity's checks, not repeated here.
   */
  addCertificate(certificate: DeviceCertificate, delegation: string): void {
    const device = { certificate, serial: certificate.serial, delegation, deviceKey: certificate.claim.deviceKey, principal: certificate.claim.role === 'principal' };
    this.devices.set(hex(certificate.serial), device);
  }

  /** A signer list, taken if its delegation's pinned key signed it for this summit and it is newer: RecordError otherwise. */
  async acceptList(list: SignerList): Promise<void> {
    if (list.summitId !== this.summitId) throw new RecordError('wrong_summit', `a signer list for summit ${list.summitId}`);
    const pinned = this.pins.byName.get(list.delegation);
    if (pinned === undefined || !(await Fingerprint.of(list.issuer)).equals(pinned)) {
      throw new RecordError('unknown_signer', `a signer list for ${list.delegation} not signed by its pinned key`);
    }
    if (!(await verifySignature(list.issuer, concat(LABEL, list.body()), list.signature))) {
      throw new RecordError('bad_signature', `the signer list of ${list.delegation} does not verify: forged or altered`);
    }
    const held = this.lists.get(list.delegation);
    if (held !== undefined && list.sequence <= held.sequence) {
      if (list.sequence === held.sequence && sameBytes(list.toBytes(), held.toBytes())) return;
      throw new RecordError('stale', `signer list ${list.sequence} of ${list.delegation} cannot replace number ${held.sequence}`);
    }
    this.lists.set(list.delegation, list);
  }

  /** The certified device with this serial: RecordError('unknown_signer') when there is none. */
  device(serial: Bytes): RecordDevice {
    const device = this.devices.get(hex(serial));
    if (device === undefined) throw new RecordError('unknown_signer', `no good, pinned certificate with serial ${hex(serial)}`);
    return device;
  }

  /** The device with this serial, if it is a signer of its delegation: RecordError otherwise. */
  signer(serial: Bytes): RecordDevice {
    const device = this.device(serial);
    const listed = this.lists.get(device.delegation)?.serials.some((s) => hex(s) === hex(serial)) ?? false;
    if (!device.principal && !listed) throw new RecordError('not_a_signer', `device ${hex(serial)} is not a signer of ${device.delegation}`);
    return device;
  }

  /** The signer lists held, for a readout. */
  signerLists(): SignerList[] {
    return [...this.lists.values()];
  }
}
