/**
 * The officer console's desk: what a delegation's security officer sees and does from a device
 * of their delegation (docs/identity.md, "The officer's ceremony"). The UI is
 * ui/officerConsole.ts; this holds the state and the signing, over an injected link to the server.
 *
 * It watches every op the server sends the device from the start (`observe`, fed by
 * `Call.watchOps`): `ready` (who this device is, the summit, its delegation's pin set), the
 * certificates and revocation lists relayed to every device, and, once this device has proved it
 * holds the delegation key (`officer`), its delegation's enrollment requests. With the key open
 * (delegationKey.ts: in this tab's memory only) the officer approves a request (a certificate for
 * exactly the claim the request's key signed), declines one (its stay ends), revokes a device (every serial this
 * console has seen for it, beside those already revoked), and signs the pin set.
 *
 * In a summit that requires certificates, the console's own device must be certified to enter
 * the call, and no other console would certify it: once the key is open, a device not in the
 * call with no certificate of this key yet is certified by the console itself. A device in the
 * lobby of such a summit is certified already and gets a second certificate, which is harmless:
 * Revoke revokes every serial of a device.
 *
 * Nothing here is trusted for having come through the server: every request is checked (its
 * signature, this summit, this delegation) before it is shown, and the certificates and lists
 * only say which serials to revoke and which sequence numbers come next (a server withholding a
 * list makes the console's next one refused as stale, never weaker: each list names every
 * serial this console knows of).
 */

import { base64url } from './e2ee/mlsWire';
import type { ServerOp, SummitInfo } from './generated/wire';
import { DeviceCertificate, issue } from './identity/certificate';
import { DeviceClaim } from './identity/claim';
import { openKeyFile, type DelegationKey } from './identity/delegationKey';
import { hex, sameBytes, unbase64url, type Bytes } from './identity/encoding';
import { approve, DEFAULT_VALIDITY, EnrollmentRequest, verifyRequest } from './identity/enrollment';
import { Fingerprint } from './identity/fingerprint';
import { proveOfficer } from './identity/officer';
import { PinSet, signPins } from './identity/pins';
import { RevocationList, signRevocations } from './identity/revocation';
import type { AnswerTo, RequestMessage } from './requests';

export type OfficerOp = 'officer' | 'approve' | 'decline' | 'revocations' | 'pins';

/** How the desk reaches the server: `Call.officerRequest`. */
export interface OfficerLink {
  officerRequest<K extends OfficerOp>(op: K, d: RequestMessage<K>['d']): Promise<AnswerTo<K>>;
}

/** A device's request, checked, as the console shows it. */
export interface WaitingRequest {
  userId: number;
  request: EnrollmentRequest;
  /** The 20 digits the device shows too, in groups of five. */
  code: string;
}

/** A device this key certified, as the console lists it. */
export interface CertifiedDevice {
  userId: number;
  claim: DeviceClaim;
  /** Every serial of this key's certificates for it. */
  serials: Bytes[];
  notAfter: bigint;
  /** Every one of those serials is on this key's latest revocation list. */
  revoked: boolean;
}

/** Where the device stands, from its `ready` (null until then). */
interface Device {
  summit: SummitInfo;
  claim: DeviceClaim;
  inCall: boolean;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function words(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class OfficerDesk {
  key: DelegationKey | null = null;
  fingerprint: Fingerprint | null = null;
  /** The last thing that went wrong, in words (a refused op, a request that does not verify...). */
  notice: string | null = null;
  private device: Device | null = null;
  private proved = false;
  private readonly waiting = new Map<number, WaitingRequest>();
  private readonly certificates = new Map<string, DeviceCertificate>(); // by serial (hex)
  private readonly revocations = new Map<string, RevocationList>(); // by issuer (hex): the latest
  private pinSet: PinSet | null = null; // this delegation's latest, as the server last sent it
  private readonly listeners = new Set<() => void>();

  constructor(private readonly link: OfficerLink) {}

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private fail(what: string, err: unknown): void {
    this.notice = `${what}: ${words(err)}`;
    this.changed();
  }

  get summit(): SummitInfo | null {
    return this.device?.summit ?? null;
  }

  /** This device's own delegation, as `ready` named it. */
  get delegation(): string | null {
    return this.device?.claim.delegation ?? null;
  }

  /** This device's user id (null until `ready`). */
  get userId(): number | null {
    return this.device?.claim.userId ?? null;
  }

  /** Whether the server takes this device for its delegation's console (it proved the key). */
  get isConsole(): boolean {
    return this.proved;
  }

  get requests(): WaitingRequest[] {
    return [...this.waiting.values()];
  }

  /** The sequence number the next pin set gets. */
  get nextPinSequence(): bigint {
    return (this.pinSet?.sequence ?? 0n) + 1n;
  }

  // -- what the server sends ----------------------------------------------------------------

  /** Every op the server sends the device (Call.watchOps): kept for the console, never acted on blindly. */
  observe(op: ServerOp): void {
    if (op.op === 'enrollment_request') void this.take(op.d.user_id, op.d.request);
    else if (this.keep(op)) this.changed();
  }

  /** Keep what an op says; false if it says nothing to the console. */
  private keep(op: ServerOp): boolean {
    if (op.op === 'ready') {
      const { device, summit, admitted, pin_set } = op.d;
      const claim = new DeviceClaim(summit.summit_id, device.delegation_id, device.delegation, device.role, device.people, device.language, unbase64url(device.key), device.user_id);
      this.device = { summit, claim, inCall: admitted };
      this.pinSet = pin_set ? this.read(PinSet, pin_set) : this.pinSet;
      // A new connection: the server forgot this console, and sends the requests waiting again once it proves the key.
      this.proved = false;
      this.waiting.clear();
      if (this.key) void this.prove();
    } else if (op.op === 'admitted') {
      if (this.device) this.device.inCall = true;
    } else if (op.op === 'certificate') {
      const certificate = this.read(DeviceCertificate, op.d.certificate);
      if (!certificate) return false;
      this.certificates.set(hex(certificate.serial), certificate);
      this.waiting.delete(certificate.claim.userId); // approved (here, or by another console)
    } else if (op.op === 'revocations') {
      const list = this.read(RevocationList, op.d.revocations);
      const held = list && this.revocations.get(hex(list.issuer));
      if (!list || (held && list.sequence <= held.sequence)) return false;
      this.revocations.set(hex(list.issuer), list);
    } else if (op.op === 'pins') {
      const pinSet = this.read(PinSet, op.d.pin_set);
      if (!pinSet || (this.pinSet && pinSet.sequence <= this.pinSet.sequence)) return false;
      this.pinSet = pinSet;
    } else {
      return false;
    }
    return true;
  }

  /** A document as the server relayed it; one that does not parse is dropped (each device checks what it trusts itself). */
  private read<T>(format: { fromText(text: string): T }, text: string): T | null {
    try {
      return format.fromText(text);
    } catch (err) {
      console.warn(`parley: officer console dropped a document that does not parse: ${words(err)}`);
      return null;
    }
  }

  /** An enrollment request: shown only if its device's key signed it, for this summit and this delegation. */
  private async take(userId: number, text: string): Promise<void> {
    try {
      const request = EnrollmentRequest.fromText(text);
      await verifyRequest(request);
      const claim = request.claim;
      if (this.device === null || claim.summitId !== this.device.summit.summit_id || claim.delegationId !== this.device.claim.delegationId || claim.userId !== userId) {
        throw new Error(`it is for ${claim.describe()}, not a device of this delegation in this summit`);
      }
      this.waiting.set(userId, { userId, request, code: await request.code() });
      this.changed();
    } catch (err) {
      this.fail(`A request from device ${userId} was dropped`, err);
    }
  }

  // -- what the officer does ---------------------------------------------------------------

  /**
   * Open the delegation key file with its passphrase, prove this device holds the key, and
   * certify this device itself if it needs it to enter the call. Throws in words: a wrong
   * passphrase, a damaged file, or the server's refusal (a key not pinned for this delegation).
   */
  async open(keyFile: string, passphrase: string): Promise<void> {
    if (this.device === null) throw new Error('this device is not in the summit yet: wait until it has joined');
    const key = await openKeyFile(keyFile, passphrase);
    this.key = key;
    this.fingerprint = await key.fingerprint();
    this.notice = null;
    this.changed();
    await this.prove();
    if (!this.proved) {
      this.key = null; // the server refused it: do not keep a key this summit does not take
      this.fingerprint = null;
      throw new Error(this.notice ?? 'the server did not take this key');
    }
    await this.certifySelfIfNeeded();
  }

  /** The key's proof for this device and summit: the server then sends the requests waiting. */
  private async prove(): Promise<void> {
    const { key, device } = this;
    if (key === null || device === null) return;
    try {
      const proof = await proveOfficer(key, device.summit.summit_id, device.claim.userId);
      await this.link.officerRequest('officer', { key: base64url(key.publicKey), proof: base64url(proof) });
      this.proved = true;
      this.changed();
    } catch (err) {
      this.fail('The server refused this key as the delegation’s', err);
    }
  }

  private async certifySelfIfNeeded(): Promise<void> {
    const { key, device } = this;
    if (key === null || device === null || device.inCall) return;
    if (Object.keys(device.summit.pins).length === 0) return; // no certificates required
    const mine = [...this.certificates.values()].some((c) => c.claim.userId === device.claim.userId && sameBytes(c.issuer, key.publicKey));
    if (mine) return;
    const now = nowSeconds();
    await this.send('approve', 'This device could not be certified', async () => {
      const certificate = await issue(key, device.claim, BigInt(now), BigInt(now + DEFAULT_VALIDITY));
      return { certificate: certificate.toText() };
    });
  }

  /** Certify the device of a waiting request, for its claim exactly, valid 72 hours. */
  async approve(userId: number): Promise<void> {
    const waiting = this.waiting.get(userId);
    const { key, device } = this;
    if (!waiting || key === null || device === null) return;
    const done = await this.send('approve', `Device ${userId} was not certified`, async () => {
      const certificate = await approve(key, waiting.request, device.claim.delegation, nowSeconds());
      return { certificate: certificate.toText() };
    });
    if (done) this.waiting.delete(userId);
    this.changed();
  }

  /** Not approved: the server ends the device's stay (`enrollment_declined`), and the request leaves this console. */
  async decline(userId: number): Promise<void> {
    if (!this.waiting.has(userId)) return;
    const done = await this.send('decline', `Device ${userId} was not declined`, () => Promise.resolve({ user_id: userId }));
    if (done) this.waiting.delete(userId);
    this.changed();
  }

  /** The devices this key certified, newest claim first per device, with whether they are revoked. */
  get certified(): CertifiedDevice[] {
    const key = this.key;
    if (key === null) return [];
    const revoked = this.ownRevoked();
    const byDevice = new Map<number, DeviceCertificate[]>();
    for (const certificate of this.certificates.values()) {
      if (!sameBytes(certificate.issuer, key.publicKey)) continue;
      byDevice.set(certificate.claim.userId, [...(byDevice.get(certificate.claim.userId) ?? []), certificate]);
    }
    return [...byDevice].map(([userId, certificates]) => {
      const latest = certificates.reduce((a, b) => (b.notAfter > a.notAfter ? b : a));
      const serials = certificates.map((c) => c.serial);
      return { userId, claim: latest.claim, serials, notAfter: latest.notAfter, revoked: serials.every((s) => revoked.has(hex(s))) };
    });
  }

  private ownList(): RevocationList | null {
    return this.key ? (this.revocations.get(hex(this.key.publicKey)) ?? null) : null;
  }

  private ownRevoked(): Set<string> {
    return new Set(this.ownList()?.serials.map(hex) ?? []);
  }

  /** Revoke every certificate this console has seen for the device: a new list, naming every serial still revoked too. */
  async revoke(userId: number): Promise<void> {
    const key = this.key;
    const device = this.certified.find((d) => d.userId === userId);
    if (key === null || this.device === null || !device) return;
    const summitId = this.device.summit.summit_id;
    const held = this.ownList();
    const serials = [...(held?.serials ?? []), ...device.serials];
    await this.send('revocations', `Device ${userId} was not revoked`, async () => {
      const list = await signRevocations(key, summitId, (held?.sequence ?? 0n) + 1n, serials, BigInt(nowSeconds()));
      return { revocations: list.toText() };
    });
  }

  /**
   * Sign and send the pins this delegation's devices trust: `typed` maps each delegation's name
   * to the fingerprint its officer read out (this key's own among them).
   */
  async publishPins(typed: ReadonlyMap<string, string>): Promise<boolean> {
    const { key, device } = this;
    if (key === null || device === null) return false;
    return this.send('pins', 'The pins were not sent', async () => {
      const pins = new Map([...typed].map(([name, text]) => [name, parseFingerprint(name, text)] as const));
      const pinSet = await signPins(key, device.summit.summit_id, this.nextPinSequence, pins);
      return { pin_set: pinSet.toText() };
    });
  }

  /** Sign (`make`) and send one op; true if the server took it, else the notice says why. */
  private async send<K extends OfficerOp>(op: K, what: string, make: () => Promise<RequestMessage<K>['d']>): Promise<boolean> {
    try {
      await this.link.officerRequest(op, await make());
      this.notice = null;
      this.changed();
      return true;
    } catch (err) {
      this.fail(what, err);
      return false;
    }
  }
}

function parseFingerprint(name: string, text: string): Fingerprint {
  try {
    return Fingerprint.parse(text);
  } catch (err) {
    throw new Error(`${name}: ${words(err)}`, { cause: err });
  }
}

/** A certificate's end, for people. */
export function validUntil(notAfter: bigint): string {
  return new Date(Number(notAfter) * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
