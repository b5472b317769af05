/**
 * A client's verified copy of the record (src/record/view.ts) against a faked server: the tests
 * deliver an honest scribe's entries (real signatures, real encryption) in order, out of order,
 * withheld, altered or forked, and step a fake clock through the 2 s bound. Every hostile case
 * must raise the alarm naming what the server did and the entry.
 */

import { beforeAll, describe, expect, test } from 'vitest';

import type { Bytes } from '../src/identity/encoding';
import { RecordEntry, signEntry, ZEROS } from '../src/record/entry';
import { encryptStatement, grantToDevice, keyIdOf } from '../src/record/keys';
import { RecordError } from '../src/record/problems';
import { signSignerList } from '../src/record/signers';
import { Statement } from '../src/record/statement';
import { DROP_BOUND, listOf, RecordView } from '../src/record/view';
import { A, B, bookOf, FakeClock, fullCourse, makeWorld, Scribe, SUMMIT, viewOf, type Device, type World, type Written } from './recordWorld';

let world: World;
let course: Scribe;

beforeAll(async () => {
  world = await makeWorld();
  course = await Scribe.of(world);
  await fullCourse(course);
});

function at(seq: number): Written {
  const written = course.written[seq];
  if (written === undefined) throw new Error(`no entry ${seq}`);
  return written;
}

async function deliver(view: RecordView, ...seqs: number[]): Promise<string[]> {
  const texts: string[] = [];
  for (const seq of seqs) for (const alarm of await view.receiveEntry(at(seq).entry, at(seq).ciphertext)) texts.push(`${alarm.kind}: ${alarm.text}`);
  return texts;
}

function flipped(bytes: Bytes, index: number): Bytes {
  const copy = bytes.slice();
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

describe('an honest server', () => {
  test('a full course: every entry verifies, the record is sealed, and each statement has the standing the doc gives', async () => {
    const view = await viewOf(world, new FakeClock());
    expect(await deliver(view, ...course.written.map((_, i) => i))).toEqual([]);
    expect(view.log.sealed).toBe(true);
    expect(view.standings().map((s) => [s.by, s.statement.text, s.text])).toEqual([
      [A, 'Delegation A holds that the border stays open.', 'position of Delegation A'],
      [B, 'Delegation B wants inspections at the border.', 'position of Delegation B'],
      [A, 'The teams will keep in contact.', 'agreed by Delegation A and Delegation B'],
      [B, 'Les parties conviennent: café, 咖啡.', 'agreed by Delegation A and Delegation B'],
      [A, 'Inspections end in May.', 'position of Delegation A, not agreed (declined by Delegation B: Not before the ministers have seen it.)'],
      [B, 'Not before the ministers have seen it.', "Delegation B's reason for declining entry 6"],
      [A, 'Draft the joint statement', 'action for José Núñez by Friday 12:00, by Delegation A'],
    ]);
  });

  test('texts that came before the record key are decrypted when its grant comes, from a certified device', async () => {
    const view = await viewOf(world, new FakeClock(), false);
    await deliver(view, 0, 1, 2);
    expect(view.standings()).toEqual([]);
    const grant = await grantToDevice(world.recordKey, SUMMIT, world.principalB.key, world.principalA.certificate.serial, world.principalA.sign);
    expect(await view.receiveGrant(grant, world.principalB.jwk)).toEqual([]);
    expect(view.standings().map((s) => s.statement.text)).toEqual(['Delegation A holds that the border stays open.', 'Delegation B wants inspections at the border.', 'The teams will keep in contact.']);
  });

  test('a key this device made before any entry gives way to the grant\'s; once entries name a key, another is refused', async () => {
    const view = await viewOf(world, new FakeClock(), false);
    await view.holdKey(new Uint8Array(32).fill(5));
    const grant = await grantToDevice(world.recordKey, SUMMIT, world.principalB.key, world.principalA.certificate.serial, world.principalA.sign);
    await view.receiveGrant(grant, world.principalB.jwk);
    expect(view.key).toEqual(world.recordKey);
    expect(await deliver(view, 0)).toEqual([]);
    await expect(view.holdKey(new Uint8Array(32).fill(5))).rejects.toMatchObject({ problem: 'wrong_key' });
  });

  test('a grant signed by a device with no certificate here is refused', async () => {
    const view = await viewOf(world, new FakeClock(), false);
    const grant = await grantToDevice(world.recordKey, SUMMIT, world.principalB.key, new Uint8Array(16).fill(7), world.principalA.sign);
    await expect(view.receiveGrant(grant, world.principalB.jwk)).rejects.toMatchObject({ problem: 'unknown_signer' });
  });

  test('an outcome not yet answered is proposed, awaiting the others; an amendment names the outcome it amends', async () => {
    const scribe = await Scribe.of(world);
    await scribe.write(world.principalA, 'outcome', 'The teams meet monthly.');
    await scribe.write(world.principalB, 'outcome', 'The teams meet weekly.', scribe.hashOf(0));
    await scribe.write(world.principalA, 'sign', '', scribe.hashOf(1));
    expect(scribe.view.standings().map((s) => [s.text, s.awaiting, s.amends])).toEqual([
      ['proposed by Delegation A, not agreed (not signed by Delegation B)', [B], null],
      ['agreed by Delegation A and Delegation B, amending entry 0', [], 0n],
    ]);
  });

  test('an entry written after its signer\'s certificate expired is refused', async () => {
    const scribe = await Scribe.of(world);
    const late = await writeStraight(scribe, world.principalA, world.principalA.certificate.notAfter * 1000n);
    expect((await scribe.view.receiveEntry(late.entry, late.ciphertext)).map((a) => a.text)).toEqual([expect.stringContaining("its signer's certificate is not valid at the entry's time")]);
  });

  test('the same entry sent twice is taken once, without an alarm', async () => {
    const view = await viewOf(world, new FakeClock());
    expect(await deliver(view, 0, 1, 1, 0)).toEqual([]);
    expect(view.log.length).toBe(2n);
  });
});

describe('a server that drops or reorders', () => {
  test('an entry withheld while a later one came: dropped after 2 s, reordered when it comes after all', async () => {
    const clock = new FakeClock();
    const view = await viewOf(world, clock);
    expect(await deliver(view, 0, 2)).toEqual([]);
    expect(view.deadline()).toBe(clock.now + DROP_BOUND);
    clock.now += DROP_BOUND - 1;
    expect(view.tick()).toEqual([]);
    clock.now += 1;
    expect(view.tick().map((a) => a.text)).toEqual(['entry 1 never arrived though entry 2 did: the server dropped it']);
    expect(view.deadline()).toBeNull();
    expect(await deliver(view, 3), 'another entry beyond the gap: the gap is said already').toEqual([]);
    expect(view.deadline()).toBeNull();
    expect(await deliver(view, 1)).toEqual(['reordered: entry 1 arrived after entry 2: the server reordered the log']);
    expect(view.log.length).toBe(4n);
  });

  test('a member\'s head says the log is longer: dropped after 2 s', async () => {
    const clock = new FakeClock();
    const view = await viewOf(world, clock);
    await deliver(view, 0);
    expect(await view.receiveHead(await course.head(world.principalB, 3), world.principalB.key)).toEqual([]);
    clock.now += DROP_BOUND;
    expect(view.tick().map((a) => [a.kind, a.text])).toEqual([['dropped', 'user 2 holds 3 entries; the server delivered 1 to this client: it dropped entry 1']]);
  });

  test('a head beyond the log naming another hash: forked once the log reaches it, and dropped says so once', async () => {
    const clock = new FakeClock();
    const view = await viewOf(world, clock);
    await view.receiveHead(await course.head(world.principalB, 2, new Uint8Array(32).fill(9)), world.principalB.key);
    await view.receiveHead(await course.head(world.principalB, 4), world.principalB.key);
    clock.now += DROP_BOUND;
    expect(view.tick().map((a) => [a.kind, a.seq])).toEqual([['dropped', 0n]]);
    expect(view.deadline(), 'raised: no wake-up until something changes').toBeNull();
    expect((await deliver(view, 0, 1)).map((t) => t.split(':')[0])).toEqual(['forked']);
    clock.now += DROP_BOUND;
    expect(view.tick().map((a) => [a.kind, a.seq])).toEqual([['dropped', 2n]]);
  });

  test('a longer head that the log then reaches, with the same hash, raises nothing', async () => {
    const clock = new FakeClock();
    const view = await viewOf(world, clock);
    await view.receiveHead(await course.head(world.principalB, 2), world.principalB.key);
    expect(await deliver(view, 0, 1)).toEqual([]);
    clock.now += DROP_BOUND;
    expect(view.tick()).toEqual([]);
  });
});

describe('a server that forks', () => {
  test('another entry at a position held: forked, naming the entry', async () => {
    const other = await Scribe.of(world);
    await other.write(world.principalA, 'position', 'Another first position.');
    const view = await viewOf(world, new FakeClock());
    await deliver(view, 0);
    const [fork] = other.written;
    if (fork === undefined) throw new Error('no fork');
    const alarms = await view.receiveEntry(fork.entry, fork.ciphertext);
    expect(alarms.map((a) => [a.kind, a.seq, a.text])).toEqual([['forked', 0n, 'the server sent another position as entry 0 than the entry 0 (position by Delegation A) this client holds: the log is forked']]);
  });

  test('an entry chaining to another entry than the one held: forked', async () => {
    const other = await Scribe.of(world);
    await other.write(world.principalB, 'position', 'Another first position.');
    await other.write(world.principalA, 'position', 'A second position on another log.');
    const view = await viewOf(world, new FakeClock());
    await deliver(view, 0);
    const second = other.written[1];
    if (second === undefined) throw new Error('no second entry');
    expect((await view.receiveEntry(second.entry, second.ciphertext)).map((a) => a.kind)).toEqual(['forked']);
    expect(view.log.length).toBe(1n);
  });

  test('a member\'s head naming another hash at a length held: forked', async () => {
    const view = await viewOf(world, new FakeClock());
    await deliver(view, 0, 1);
    const head = await course.head(world.principalB, 2, new Uint8Array(32).fill(9));
    expect((await view.receiveHead(head, world.principalB.key)).map((a) => [a.kind, a.seq])).toEqual([['forked', 1n]]);
  });

  test('a head not signed by the member it names is refused, not believed', async () => {
    const view = await viewOf(world, new FakeClock());
    const head = await course.head(world.principalB, 1);
    await expect(view.receiveHead(head, world.principalA.key)).rejects.toBeInstanceOf(RecordError);
  });
});

describe('a server that alters', () => {
  test('a ciphertext changed: altered once the key is held, and the entry\'s text is not shown', async () => {
    const view = await viewOf(world, new FakeClock(), false);
    const { entry, ciphertext } = at(0);
    expect(await view.receiveEntry(entry, flipped(ciphertext ?? new Uint8Array(), 20))).toEqual([]);
    const alarms = await view.holdKey(world.recordKey);
    expect(alarms.map((a) => [a.kind, a.seq])).toEqual([['altered', 0n]]);
    expect(alarms[0]?.text).toMatch(/^the text of entry 0 \(position by Delegation A\) does not verify: .*the server altered it$/);
    expect(view.statement(0n)).toBeNull();
  });

  test('a text swapped for another under the same key: altered (the commitment binds it)', async () => {
    const view = await viewOf(world, new FakeClock());
    const swapped = await encryptStatement(world.recordKey, Statement.make('Delegation A concedes everything.'));
    expect((await view.receiveEntry(at(0).entry, swapped)).map((a) => a.kind)).toEqual(['altered']);
  });

  test('a signature bit flipped: altered, and the entry is not taken', async () => {
    const view = await viewOf(world, new FakeClock());
    const bytes = at(0).entry.toBytes();
    const forged = RecordEntry.fromBytes(flipped(bytes, bytes.length - 1));
    const alarms = await view.receiveEntry(forged, at(0).ciphertext);
    expect(alarms.map((a) => [a.kind, a.text])).toEqual([['altered', "entry 0 (position) does not verify: its signature is not Delegation A's device's: the server altered it"]]);
    expect(view.log.length).toBe(0n);
  });

  test('an entry by a certified device that is no signer is refused, until its officer lists it', async () => {
    const scribe = await Scribe.of(world);
    await scribe.write(world.principalA, 'position', 'A position.');
    const book = bookOf(world);
    const list = await signSignerList(world.b.key, SUMMIT, B, 1n, [world.delegateB.certificate.serial]);
    await book.acceptList(list);
    const listed = new RecordView(SUMMIT, [A, B], book, new FakeClock().read);
    await listed.holdKey(world.recordKey);
    const unlisted = await viewOf(world, new FakeClock());
    const entry = await writeStraight(scribe, world.delegateB);
    const [first] = scribe.written;
    if (first === undefined) throw new Error('no first entry');
    for (const view of [listed, unlisted]) await view.receiveEntry(first.entry, first.ciphertext);
    expect((await unlisted.receiveEntry(entry.entry, entry.ciphertext)).map((a) => a.text)).toEqual([expect.stringContaining('is not a signer of Delegation B')]);
    expect(await listed.receiveEntry(entry.entry, entry.ciphertext)).toEqual([]);
  });

  test('a delegation signing its own outcome breaks the kind rules: altered', async () => {
    const scribe = await Scribe.of(world);
    await scribe.write(world.principalA, 'outcome', 'An outcome.');
    await expect(scribe.write(world.principalA, 'sign', '', scribe.hashOf(0))).rejects.toThrow("Delegation A cannot sign its own outcome");
  });

  test('after the first seal the log takes only seals', async () => {
    const scribe = await Scribe.of(world);
    await scribe.write(world.principalA, 'position', 'A position.');
    await scribe.write(world.principalA, 'seal');
    await expect(scribe.write(world.principalB, 'position', 'Too late.')).rejects.toThrow('after the first seal the log takes only seals');
  });
});

/** A position by `by` at the scribe's next seq, signed straight (the scribe's own view would refuse a device that is no signer). */
async function writeStraight(scribe: Scribe, by: Device, time = 1_800_000_000_000n): Promise<Written> {
  const statement = Statement.make('The delegate speaks.');
  const log = scribe.view.log;
  const entry = await signEntry({ summitId: SUMMIT, seq: log.length, prev: log.head, entryKind: 'position', refers: ZEROS, commitment: await statement.commitment(), keyId: await keyIdOf(world.recordKey), epoch: 3n, time, signer: by.certificate.serial }, by.sign);
  return { entry, ciphertext: await encryptStatement(world.recordKey, statement) };
}

test('names are listed as people read them', () => {
  expect([listOf(['A']), listOf(['A', 'B']), listOf(['A', 'B', 'C'])]).toEqual(['A', 'A and B', 'A, B and C']);
});
