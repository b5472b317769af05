/**
 * The browser's record session (src/record/session.ts) against a fake server: a few lines that
 * keep the log, answer `record_read` in pages, relay entries, grants and heads as the real server
 * does, and say `record_conflict` when the log moved on. The devices are real (P-256 keys,
 * certificates from real delegation keys, pins their own delegation signed); the worker's side
 * (e2ee/recordSigning.ts) signs and opens grants with the device's real key, in-process.
 */

import { beforeAll, describe, expect, test } from 'vitest';

import { openOwnGrant, signRecordDocument, type RecordDocument } from '../src/e2ee/recordSigning';
import { keyProofMessage } from '../src/e2ee/signingKey';
import type { RecordEntryData, RecordStateData } from '../src/generated/wire';
import { unbase64url, type Bytes } from '../src/identity/encoding';
import { signPins } from '../src/identity/pins';
import { base64url } from '../src/e2ee/mlsWire';
import { ENTRY_LABEL, RecordEntry } from '../src/record/entry';
import { grantToDevice, newRecordKey, RecordGrant } from '../src/record/keys';
import { RecordSession, type Ports, type RecordOp, type RecordRequestOp } from '../src/record/session';
import type { RecordAlarm } from '../src/record/view';
import { standingWords, stateWords } from '../src/record/words';
import { RequestFailed } from '../src/requests';
import { A, B, makeWorld, SUMMIT, type Delegation, type Device, type World } from './recordWorld';

let world: World;

beforeAll(async () => {
  world = await makeWorld();
});

const PAGE = 2; // entries per `record_read` page: small, so that catching up takes several

/** What a fake server keeps and relays; it checks only what ordering needs (seq, prev), not the rules. */
class FakeRecordServer {
  readonly log: RecordEntryData[] = [];
  keyId = '';
  closed = false;
  /** Before each append: lets a test slip another device's entry in first. */
  beforeAppend: (() => Promise<void>) | null = null;
  readonly members: Member[] = [];

  state(): RecordStateData {
    const granted = new Set(this.members.filter((m) => m.granted).map((m) => m.device.userId));
    const sealed = this.sealedBy().size === 2;
    return {
      state: sealed ? 'sealed' : this.closed ? 'closed' : 'open',
      length: this.log.length,
      key_id: this.keyId,
      ungranted_devices: this.members.filter((m) => !granted.has(m.device.userId)).map((m) => m.device.userId),
      ungranted_delegations: [],
    };
  }

  private sealedBy(): Set<string> {
    const byDelegation = new Map([[world.principalA.userId, A], [world.principalB.userId, B], [world.delegateB.userId, B]]);
    const certificates = new Map(this.members.map((m) => [base64url(m.device.certificate.serial), m.device.userId]));
    return new Set(
      this.log
        .map((d) => RecordEntry.fromText(d.entry))
        .filter((e) => e.entryKind === 'seal')
        .map((e) => byDelegation.get(certificates.get(base64url(e.signer)) ?? 0) ?? ''),
    );
  }

  broadcast(op: RecordOp): void {
    for (const m of this.members) void m.session.receive(op);
  }

  sendState(): void {
    for (const m of this.members) void m.session.receive({ op: 'record_state', d: this.state() });
  }

  async request(from: Member, op: RecordRequestOp, d: Record<string, unknown>): Promise<unknown> {
    switch (op) {
      case 'record_read': {
        const start = Number(d.from_seq);
        return { op: 'record_entries', d: { entries: this.log.slice(start, start + PAGE), length: this.log.length } };
      }
      case 'record_append': {
        if (this.beforeAppend !== null) {
          const slip = this.beforeAppend;
          this.beforeAppend = null;
          await slip();
        }
        const entry = RecordEntry.fromText(String(d.entry));
        const head = this.log.length === 0 ? new Uint8Array(32) : await RecordEntry.fromText(this.log.at(-1)?.entry ?? '').hash();
        if (entry.seq !== BigInt(this.log.length) || !entry.prev.every((b, i) => b === head[i])) {
          throw new RequestFailed('record_append', 'record_conflict', 'the log moved on');
        }
        const data = { entry: String(d.entry), ciphertext: String(d.ciphertext), certificate: from.device.certificate.toText() };
        this.log.push(data);
        this.broadcast({ op: 'record_entry', d: data });
        if (entry.entryKind === 'seal') this.sendState();
        return { op: 'ok', d: {} };
      }
      case 'record_grant': {
        const grant = RecordGrant.fromText(String(d.grant));
        const id = base64url(grant.keyId);
        if (this.keyId !== '' && this.keyId !== id) throw new RequestFailed('record_grant', 'record_conflict', 'another key');
        this.keyId = id;
        const to = this.members.find((m) => base64url(m.device.key) === base64url(grant.recipient));
        if (to !== undefined) {
          to.granted = true;
          void to.session.receive({ op: 'record_grant', d: { grant: String(d.grant) } });
        }
        this.sendState();
        return { op: 'ok', d: {} };
      }
      case 'record_head':
        for (const m of this.members) if (m !== from) void m.session.receive({ op: 'record_head', d: { user_id: from.device.userId, head: String(d.head) } });
        return { op: 'ok', d: {} };
      case 'record_close':
        this.closed = true;
        this.sendState();
        return { op: 'ok', d: {} };
    }
    throw new RequestFailed(op, 'unknown_op', `the fake server does not take ${String(op)}`);
  }
}

/** One device's session, its ports wired to the fake server and to an in-process "worker". */
class Member {
  granted = false;
  readonly alarms: RecordAlarm[] = [];
  readonly session: RecordSession;
  copy: string | null = null; // the device's own copy, as the session last kept it

  constructor(
    readonly server: FakeRecordServer,
    readonly device: Device,
    own: string,
  ) {
    const ports: Ports = {
      request: (op, d) => server.request(this, op, d as Record<string, unknown>) as never,
      sign: (document: RecordDocument) => (message: Bytes) => signRecordDocument(document, message, device.sign),
      openGrant: (text) => openOwnGrant(text, device.key, device.jwk),
      alarm: (alarm) => this.alarms.push(alarm),
      changed: () => undefined,
      keep: (readout) => {
        this.copy = readout;
      },
      epoch: () => 1n,
      now: () => Date.now(),
      later: (ms, run) => {
        const timer = setTimeout(run, ms);
        return () => clearTimeout(timer);
      },
    };
    this.session = new RecordSession({ summitId: SUMMIT, userId: device.userId, deviceKey: device.key, own }, ports);
  }
}

async function until(ready: () => boolean, what: string, ms = 4000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function joined(server: FakeRecordServer, device: Device, own: Delegation): Promise<Member> {
  const member = new Member(server, device, (await own.key.fingerprint()).digits);
  server.members.push(member);
  const fingerprints = new Map([[A, await world.a.key.fingerprint()], [B, await world.b.key.fingerprint()]]);
  await member.session.pinSet((await signPins(own.key, SUMMIT, 1n, fingerprints)).toText());
  for (const m of server.members) {
    await member.session.addCertificate(m.device.userId, m.device.certificate.toText());
    if (m !== member) await m.session.addCertificate(device.userId, device.certificate.toText());
  }
  server.sendState();
  await until(() => member.session.caught && member.session.hasKey, `${device.delegation}'s session to hold the key`);
  return member;
}

function texts(member: Member): string[] {
  return member.session.standings().map((s) => `${s.statement.text} | ${s.text}`);
}

describe('a record session with a fake server', () => {
  test('the first reader makes the key and grants it to itself, the next gets a grant; they agree, decline, seal and export the same entries', async () => {
    const server = new FakeRecordServer();
    const a = await joined(server, world.principalA, world.a);
    const b = await joined(server, world.principalB, world.b);
    expect(a.session.signer && b.session.signer).toBe(true);

    await a.session.position('A keeps the crossings open.');
    const outcome = await a.session.propose('We meet again in March.');
    await until(() => b.session.awaiting().length === 1, 'B to see the outcome awaiting it');
    expect(b.session.awaiting()[0]?.statement.text).toBe('We meet again in March.');
    await b.session.sign(outcome);
    const other = await b.session.propose('Tariffs end this year.');
    await until(() => a.session.awaiting().length === 1, 'A to see B’s outcome');
    await a.session.decline(other, 'Not before the review.');
    await until(() => b.session.standings().length === 4, 'B to hold every entry and its text');

    await a.session.closeRecord();
    await until(() => a.session.sealed && b.session.sealed, 'both sessions to seal by themselves');
    expect(a.session.sealedBy).toEqual([A, B]);
    expect(texts(a)).toEqual([
      'A keeps the crossings open. | position of Delegation A',
      'We meet again in March. | agreed by Delegation A and Delegation B',
      'Tariffs end this year. | position of Delegation B, not agreed (declined by Delegation A: Not before the review.)',
      "Not before the review. | Delegation A's reason for declining entry 3",
    ]);
    const entries = (member: Member): unknown => (JSON.parse(member.session.export().json) as { entries: unknown }).entries;
    expect(entries(a)).toEqual(entries(b));
    // Each device keeps its own copy: the readout of the sealed record, as it verified it.
    await until(() => a.copy === a.session.export().json && b.copy === b.session.export().json, 'both copies kept');
    expect(a.alarms).toEqual([]);
    expect(b.alarms).toEqual([]);
  });

  test('a write overtaken by another device’s entry (record_conflict) lands at the next place', async () => {
    const server = new FakeRecordServer();
    const a = await joined(server, world.principalA, world.a);
    const b = await joined(server, world.principalB, world.b);
    server.beforeAppend = async () => {
      server.beforeAppend = null;
      await b.session.position('B spoke first.');
    };
    const seq = await a.session.position('A speaks second.');
    expect(seq).toBe(1n);
    expect(texts(a).map((t) => t.split(' | ')[0])).toEqual(['B spoke first.', 'A speaks second.']);
  });

  test('a reader that arrives late reads the log in pages and ends with the same copy, no alarm', async () => {
    const server = new FakeRecordServer();
    const a = await joined(server, world.principalA, world.a);
    for (const text of ['One.', 'Two.', 'Three.', 'Four.', 'Five.']) await a.session.position(text);
    const b = await joined(server, world.principalB, world.b);
    await until(() => b.session.length === 5 && b.session.standings().length === 5, 'B to catch up');
    expect(texts(b)).toEqual(texts(a));
    expect(b.alarms).toEqual([]);
  });

  test('an entry the server altered raises record_altered and is not kept', async () => {
    const server = new FakeRecordServer();
    const a = await joined(server, world.principalA, world.a);
    const b = await joined(server, world.principalB, world.b);
    await a.session.position('As written.');
    const honest = server.log[0];
    if (honest === undefined) throw new Error('no entry');
    const entry = RecordEntry.fromText(honest.entry);
    const { summitId, entryKind, refers, commitment, keyId, epoch, time, signer } = entry;
    const tampered = new RecordEntry({ summitId, seq: 1n, prev: await entry.hash(), entryKind, refers, commitment, keyId, epoch, time, signer }, entry.signature);
    await b.session.receive({ op: 'record_entry', d: { ...honest, entry: tampered.toText() } });
    await until(() => b.alarms.length > 0, 'the alarm');
    expect(b.alarms.map((x) => x.kind)).toEqual(['altered']);
    expect(b.session.length).toBe(1);
  });

  test('a device that is not a signer may not write', async () => {
    const server = new FakeRecordServer();
    await joined(server, world.principalA, world.a);
    const delegate = await joined(server, world.delegateB, world.b);
    expect(delegate.session.signer).toBe(false);
    await expect(delegate.session.position('Not mine to say.')).rejects.toThrow('not a signer');
  });
});

describe('what the worker signs for the record', () => {
  test('an entry to sign, and nothing else: an identify proof or bytes after the label are refused', async () => {
    const server = new FakeRecordServer();
    const a = await joined(server, world.principalA, world.a);
    await a.session.position('Signed in the worker.');
    const entry = RecordEntry.fromText(server.log[0]?.entry ?? '');
    const message = new Uint8Array([...ENTRY_LABEL, ...entry.body()]);
    const signature = await signRecordDocument('entry', message, world.principalA.sign);
    expect(await entry.verify(world.principalA.key)).toBe(true);
    expect(signature.length).toBe(64);
    const proof = keyProofMessage('token', world.principalA.key);
    await expect(signRecordDocument('entry', proof, world.principalA.sign)).rejects.toThrow('not a record entry');
    await expect(signRecordDocument('head', message, world.principalA.sign)).rejects.toThrow('not a record head');
    await expect(signRecordDocument('entry', new Uint8Array([...ENTRY_LABEL, 1, 2, 3]), world.principalA.sign)).rejects.toThrow('does not parse');
  });

  test('a grant opens only for the device it is sealed to', async () => {
    const key = newRecordKey();
    const grant = await grantToDevice(key, SUMMIT, world.principalB.key, world.principalA.certificate.serial, world.principalA.sign);
    expect(await openOwnGrant(grant.toText(), world.principalB.key, world.principalB.jwk)).toEqual(key);
    await expect(openOwnGrant(grant.toText(), world.principalA.key, world.principalA.jwk)).rejects.toThrow('another recipient');
    expect(unbase64url(base64url(key))).toEqual(key);
  });
});

describe('the panel’s words', () => {
  test('each statement’s standing and the record’s state, as a delegate reads them', async () => {
    const server = new FakeRecordServer();
    const a = await joined(server, world.principalA, world.a);
    const b = await joined(server, world.principalB, world.b);
    await a.session.position('Open crossings.');
    const pending = await a.session.propose('Meet in March.');
    const declined = await b.session.propose('Tariffs end.');
    await until(() => a.session.length === 3, 'A to hold B’s outcome');
    await a.session.decline(declined, 'Too soon.');
    await a.session.action('Draft the communiqué', 'Delegation B', '2027-01-15');
    await until(() => b.session.standings().length === 5, 'B to hold every entry and its text');
    expect(b.session.standings().map(standingWords)).toEqual([
      'Position of Delegation A',
      'Proposed by Delegation A — awaiting Delegation B',
      'Declined by Delegation A: Too soon.',
      "Delegation A's reason for declining entry 2",
      'Action for Delegation B by 2027-01-15',
    ]);
    await b.session.sign(pending);
    await until(() => a.session.standings().some((s) => s.agreed), 'A to see it agreed');
    expect(a.session.standings().map(standingWords)[1]).toBe('Agreed by Delegation A and Delegation B');
    expect(stateWords('open', 7, [])).toBe('Record open · 7 entries');
    expect(stateWords('closed', 7, [])).toBe('Closed — sealing');
    expect(stateWords('sealed', 9, [B, A])).toBe('Sealed by Delegation A and Delegation B');
  });
});
