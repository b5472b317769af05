/**
 * The officer console's desk (src/officer.ts) against a fake server link that records each op it
 * is sent and answers it (or refuses it) as told: the ops the console sends, and what it shows,
 * for what the server relays. The documents are real (the vectors' key file, the vectors'
 * device request), and what the desk signs is checked with the device side's own verifiers.
 */

import { expect, test } from 'vitest';

import { base64url } from '../src/e2ee/mlsWire';
import type { ReadyOp, ServerOp } from '../src/generated/wire';
import { DeviceCertificate, verifyCertificate } from '../src/identity/certificate';
import { openKeyFile } from '../src/identity/delegationKey';
import { hex } from '../src/identity/encoding';
import { EnrollmentRequest } from '../src/identity/enrollment';
import { PinSet, verifyPins } from '../src/identity/pins';
import { RevocationBook, RevocationList, signRevocations } from '../src/identity/revocation';
import { Fingerprint } from '../src/identity/fingerprint';
import { OfficerDesk, type OfficerLink, type OfficerOp } from '../src/officer';
import { RequestFailed, type AnswerTo, type RequestMessage } from '../src/requests';
import { CLAIM, VECTORS, fromHex } from './identityVectors';

const OWN_USER = VECTORS.officer.user_id;
const KEY_FILE = JSON.stringify(VECTORS.key_file.file);
const PASSPHRASE = VECTORS.key_file.passphrase;

interface Sent {
  op: OfficerOp;
  d: Record<string, string>;
}

/** A fake server: records every op, answers `ok`, or refuses the ops named in `refuse`. */
class FakeServerLink implements OfficerLink {
  readonly sent: Sent[] = [];
  readonly refuse = new Map<OfficerOp, string>();

  officerRequest<K extends OfficerOp>(op: K, d: RequestMessage<K>['d']): Promise<AnswerTo<K>> {
    this.sent.push({ op, d: d as unknown as Record<string, string> });
    const refusal = this.refuse.get(op);
    if (refusal !== undefined) return Promise.reject(new RequestFailed(op, 'forbidden', refusal));
    return Promise.resolve({ op: 'ok', id: this.sent.length, d: {} } as AnswerTo<K>);
  }

  of(op: OfficerOp): Sent[] {
    return this.sent.filter((s) => s.op === op);
  }
}

function ready(pinned: boolean, admitted: boolean): ReadyOp {
  return {
    op: 'ready',
    id: 1,
    d: {
      device: { user_id: OWN_USER, delegation_id: CLAIM.delegationId, delegation: CLAIM.delegation, role: 'delegate', people: ['Officer A'], publishing: false, language: null, key: base64url(CLAIM.deviceKey), link: 'l1', default_channel: null },
      summit: {
        summit_id: CLAIM.summitId,
        title: 'Talks',
        scheduled_start: '2026-11-30T10:00:00Z',
        duration_minutes: 60,
        channel_id: 42,
        delegations: [
          { delegation_id: CLAIM.delegationId, name: 'Delegation A', working_language: 'en' },
          { delegation_id: 'b2b2b2b2b2b2b2b2', name: 'Delegation B', working_language: 'ru' },
        ],
        languages: [],
        ducking: 0.2,
        pins: pinned ? { 'Delegation A': VECTORS.fingerprint.replace(/ /g, ''), 'Delegation B': VECTORS.other_fingerprint.replace(/ /g, '') } : {},
      },
      admitted,
      can_admit: false,
      course: { phase: 'closed_session', locked: false, starts_at: '', ends_at: '', server_time: '', at_end: 'hard_stop', overrun: false, admission: 'open' },
      heartbeat_interval: 10,
      ice_servers: [],
      test_hooks: false,
      pin_set: null,
    },
  };
}

/** Until the desk has taken what was observed (requests are verified asynchronously). */
async function settled(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

const requestOp: ServerOp = { op: 'enrollment_request', d: { request: VECTORS.enrollment_request.text, user_id: CLAIM.userId } };

test('with a fake server: the console proves the key, shows the request with its code, and approval certifies exactly its claim', async () => {
  const link = new FakeServerLink();
  const desk = new OfficerDesk(link);
  desk.observe(ready(false, true));
  await desk.open(KEY_FILE, PASSPHRASE);
  const [proof] = link.of('officer');
  expect(proof?.d.key).toBe(base64url(fromHex(VECTORS.delegation_public_key)));
  expect(proof?.d.proof).toBe(base64url(fromHex(VECTORS.officer.proof)));
  expect(link.of('approve')).toHaveLength(0); // no certificates required here: no self-certification
  desk.observe(requestOp);
  await settled(() => desk.requests.length === 1);
  expect(desk.requests[0]?.code).toBe(VECTORS.enrollment_request.code);
  await desk.approve(CLAIM.userId);
  const [approved] = link.of('approve');
  const certificate = DeviceCertificate.fromText(approved?.d.certificate ?? '');
  expect(certificate.claim.equals(EnrollmentRequest.fromText(VECTORS.enrollment_request.text).claim)).toBe(true);
  await verifyCertificate(certificate, CLAIM.summitId, Date.now() / 1000, new RevocationBook(CLAIM.summitId));
  expect(desk.requests).toHaveLength(0);
});

test('with a fake server: in a summit that requires certificates, the console certifies its own device once', async () => {
  const link = new FakeServerLink();
  const desk = new OfficerDesk(link);
  desk.observe(ready(true, false));
  await desk.open(KEY_FILE, PASSPHRASE);
  const [own] = link.of('approve');
  const certificate = DeviceCertificate.fromText(own?.d.certificate ?? '');
  expect(certificate.claim.userId).toBe(OWN_USER);
  expect(certificate.claim.people).toEqual(['Officer A']);
  expect(certificate.notAfter - certificate.notBefore).toBe(72n * 3600n);
  desk.observe({ op: 'certificate', d: { user_id: OWN_USER, certificate: certificate.toText() } });
  expect(desk.certified.map((d) => d.userId)).toEqual([OWN_USER]);
  desk.observe(ready(true, false)); // a reconnection: it proves the key again, and does not certify itself twice
  await settled(() => link.of('officer').length === 2);
  expect(link.of('approve')).toHaveLength(1);
});

test('with a fake server: a wrong passphrase, and a key the server refuses, are said in words and leave no key open', async () => {
  const link = new FakeServerLink();
  const desk = new OfficerDesk(link);
  desk.observe(ready(true, true));
  await expect(desk.open(KEY_FILE, 'not the passphrase')).rejects.toThrow(/wrong passphrase/);
  expect(link.sent).toHaveLength(0);
  link.refuse.set('officer', 'this key is not the one pinned for Delegation A');
  await expect(desk.open(KEY_FILE, PASSPHRASE)).rejects.toThrow(/not the one pinned for Delegation A/);
  expect(desk.key).toBeNull();
});

test('with a fake server: a request its key did not sign, or of another delegation, is dropped with a notice', async () => {
  const desk = new OfficerDesk(new FakeServerLink());
  desk.observe(ready(false, true));
  await desk.open(KEY_FILE, PASSPHRASE);
  const bytes = EnrollmentRequest.fromText(VECTORS.enrollment_request.text).toBytes();
  bytes.set([(bytes.at(-1) ?? 0) ^ 1], bytes.length - 1);
  desk.observe({ op: 'enrollment_request', d: { request: `parley-enrollment:${base64url(bytes)}`, user_id: CLAIM.userId } });
  await settled(() => desk.notice !== null);
  expect(desk.notice).toMatch(/not signed by the key it names/);
  desk.observe({ op: 'enrollment_request', d: { request: VECTORS.enrollment_request.text, user_id: 77 } });
  await settled(() => desk.notice?.includes('device 77') === true);
  expect(desk.requests).toHaveLength(0);
});

test('with a fake server: revoking a device signs the next list, keeping every serial already revoked', async () => {
  const link = new FakeServerLink();
  const desk = new OfficerDesk(link);
  desk.observe(ready(false, true));
  await desk.open(KEY_FILE, PASSPHRASE);
  const key = await openKeyFile(KEY_FILE, PASSPHRASE);
  const earlier = await signRevocations(key, CLAIM.summitId, 3n, [new Uint8Array(16).fill(7)], 0n);
  desk.observe({ op: 'revocations', d: { revocations: earlier.toText() } });
  desk.observe({ op: 'certificate', d: { user_id: CLAIM.userId, certificate: VECTORS.certificate.text } });
  await desk.revoke(CLAIM.userId);
  const [sent] = link.of('revocations');
  const list = RevocationList.fromText(sent?.d.revocations ?? '');
  expect(list.sequence).toBe(4n);
  expect(list.serials.map(hex).sort()).toEqual([VECTORS.certificate.serial, '07'.repeat(16)].sort());
  desk.observe({ op: 'revocations', d: { revocations: list.toText() } });
  expect(desk.certified[0]?.revoked).toBe(true);
});

test('with a fake server: the pins it signs are the typed fingerprints, numbered after the held set; a mistyped one is named', async () => {
  const link = new FakeServerLink();
  const desk = new OfficerDesk(link);
  desk.observe(ready(false, true));
  desk.observe({ op: 'pins', d: { pin_set: VECTORS.pins.text } });
  await desk.open(KEY_FILE, PASSPHRASE);
  expect(await desk.publishPins(new Map([['Delegation A', VECTORS.fingerprint], ['Delegation B', '12345']]))).toBe(false);
  expect(desk.notice).toMatch(/Delegation B: a fingerprint is 30 digits/);
  expect(await desk.publishPins(new Map([['Delegation A', VECTORS.fingerprint], ['Delegation B', VECTORS.other_fingerprint]]))).toBe(true);
  const pinSet = PinSet.fromText(link.of('pins')[0]?.d.pin_set ?? '');
  const own = Fingerprint.parse(VECTORS.fingerprint);
  const pins = await verifyPins(pinSet, own, CLAIM.summitId);
  expect(pins.sequence).toBe(BigInt(VECTORS.pins.sequence) + 1n);
  expect(pins.byName.get('Delegation B')?.toString()).toBe(VECTORS.other_fingerprint);
});

test('with a fake server: declining a request sends decline for its device and drops it from the console', async () => {
  const link = new FakeServerLink();
  const desk = new OfficerDesk(link);
  desk.observe(ready(false, true));
  await desk.open(KEY_FILE, PASSPHRASE);
  desk.observe(requestOp);
  await settled(() => desk.requests.length === 1);
  link.refuse.set('decline', 'the server refuses');
  await desk.decline(CLAIM.userId);
  expect(desk.requests).toHaveLength(1); // refused: still shown, with the reason in words
  expect(desk.notice).toContain('the server refuses');
  link.refuse.delete('decline');
  await desk.decline(CLAIM.userId);
  expect(link.of('decline').map((s) => s.d)).toEqual([{ user_id: CLAIM.userId }, { user_id: CLAIM.userId }]);
  expect(desk.requests).toHaveLength(0);
  expect(link.of('approve')).toHaveLength(0);
});
