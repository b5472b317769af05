/**
 * The per-epoch check (parley.identity.epoch_check): is every member of this key group
 * certified, by the delegation it is shown under, for the key it holds? Every input is given,
 * `now` too; it returns a verdict per member, with the same reasons and texts as the Python
 * core's. The client holds its outgoing media unless every verdict is good, and raises an alarm
 * naming the member and the reason otherwise.
 *
 * A member is certified when a certificate for its user id verifies (signature, summit, validity,
 * revocation), was signed by the key pinned for the delegation it names, certifies the very key
 * the leaf carries, and says what the roster shows of the device. Certificates that fail are
 * weighed by how far they got, and the verdict names the reason of the one that got furthest.
 */

import type { Role } from '../generated/codes';
import { verifyCertificate, type DeviceCertificate } from './certificate';
import { hex, sameBytes, type Bytes } from './encoding';
import type { Pins } from './pins';
import { IdentityError, type Problem } from './problems';
import type { RevocationBook } from './revocation';

/** How far a certificate got, for choosing the reason to show when none passes. */
const ORDER: readonly Problem[] = [
  'bad_signature',
  'wrong_summit',
  'not_yet_valid',
  'expired',
  'revoked',
  'unpinned',
  'foreign_delegation',
  'key_mismatch',
  'not_in_roster',
  'roster_mismatch',
];

/** A device as the roster shows it: the fields a certificate vouches for. */
export interface RosterEntry {
  readonly delegationId: string;
  readonly delegation: string;
  readonly role: Role;
  readonly people: readonly string[];
  readonly language: string | null;
}

export interface Verdict {
  readonly userId: number;
  readonly delegation: string | null; // the pinned delegation that certifies it (null: not certified)
  readonly problem: Problem | null; // why it is not certified (null: it is)
  readonly text: string; // for people: names the member and the reason
}

export class EpochCheck {
  constructor(readonly verdicts: readonly Verdict[]) {} // one per user id in the key group, ascending

  /** Whether every member is certified: the only state in which a device sends media. */
  get certified(): boolean {
    return this.verdicts.every((v) => v.problem === null);
  }

  get alarms(): Verdict[] {
    return this.verdicts.filter((v) => v.problem !== null);
  }

  summary(): string {
    if (this.certified) return `all ${this.verdicts.length} members certified`;
    return `${this.alarms.length} of ${this.verdicts.length} members not certified`;
  }
}

export interface EpochInputs {
  readonly summitId: string;
  /** The key group's leaves as (user id, signature key) pairs from the MLS tree itself: pairs, so a user id held twice shows. */
  readonly leaves: readonly (readonly [number, Bytes])[];
  /** The certificates received for the summit (the server relays them; it cannot make one). */
  readonly certificates: readonly DeviceCertificate[];
  readonly pins: Pins;
  readonly revocations: RevocationBook;
  readonly roster: ReadonlyMap<number, RosterEntry>;
  /** Unix seconds. */
  readonly now: number;
}

/** Every member of the key group, judged (see the module's comment). */
export async function checkEpoch(inputs: EpochInputs): Promise<EpochCheck> {
  const count = new Map<number, number>();
  for (const [userId] of inputs.leaves) count.set(userId, (count.get(userId) ?? 0) + 1);
  const byUser = new Map<number, DeviceCertificate[]>();
  for (const certificate of inputs.certificates) {
    byUser.set(certificate.claim.userId, [...(byUser.get(certificate.claim.userId) ?? []), certificate]);
  }
  const leaves = [...inputs.leaves].sort(([a, x], [b, y]) => a - b || (hex(x) < hex(y) ? -1 : hex(x) > hex(y) ? 1 : 0));
  const verdicts = new Map<number, Verdict>();
  for (const [userId, key] of leaves) {
    const entry = inputs.roster.get(userId) ?? null;
    const times = count.get(userId) ?? 0;
    verdicts.set(
      userId,
      times > 1
        ? { userId, delegation: null, problem: 'user_id_twice', text: `${who(userId, entry)} is in the key group ${times} times` }
        : await verdict(userId, key, byUser.get(userId) ?? [], entry, inputs),
    );
  }
  return new EpochCheck([...verdicts.values()]);
}

function who(userId: number, entry: RosterEntry | null): string {
  return entry ? `user ${userId} (${entry.delegation}: ${entry.people.join(', ')})` : `user ${userId}`;
}

async function verdict(userId: number, key: Bytes, candidates: DeviceCertificate[], entry: RosterEntry | null, inputs: EpochInputs): Promise<Verdict> {
  const name = who(userId, entry);
  if (candidates.length === 0) return { userId, delegation: null, problem: 'no_certificate', text: `${name} has no certificate` };
  const failures: IdentityError[] = [];
  for (const certificate of candidates) {
    try {
      await judge(certificate, key, entry, inputs);
    } catch (e) {
      if (!(e instanceof IdentityError)) throw e;
      failures.push(e);
      continue;
    }
    const delegation = certificate.claim.delegation;
    return { userId, delegation, problem: null, text: `${name} is certified by ${delegation}` };
  }
  // The first of those that got furthest, as Python's max() picks.
  const furthest = failures.reduce((a, b) => (ORDER.indexOf(b.problem) > ORDER.indexOf(a.problem) ? b : a));
  return { userId, delegation: null, problem: furthest.problem, text: `${name} is not certified: ${furthest.message}` };
}

async function judge(certificate: DeviceCertificate, key: Bytes, entry: RosterEntry | null, inputs: EpochInputs): Promise<void> {
  await verifyCertificate(certificate, inputs.summitId, inputs.now, inputs.revocations);
  const claim = certificate.claim;
  const issuer = await certificate.issuerFingerprint();
  const signerFor = inputs.pins.delegationOf(issuer);
  if (signerFor === null) {
    throw new IdentityError('unpinned', `its certificate is signed by a key no delegation of this summit is pinned to (${issuer.toString()})`);
  }
  if (signerFor !== claim.delegation) {
    throw new IdentityError(
      'foreign_delegation',
      `${signerFor}'s key certifies it as a device of ${claim.delegation}: a delegation vouches only for its own`,
    );
  }
  if (!sameBytes(claim.deviceKey, key)) {
    throw new IdentityError('key_mismatch', 'its certificate is for another key than the one it holds in the key group');
  }
  if (entry === null) throw new IdentityError('not_in_roster', 'it is certified but the roster does not show it');
  const samePeople = claim.people.length === entry.people.length && claim.people.every((p, i) => p === entry.people[i]);
  const differ = [
    ['delegation', claim.delegationId === entry.delegationId && claim.delegation === entry.delegation],
    ['role', claim.role === entry.role],
    ['people', samePeople],
    ['language', claim.language === entry.language],
  ]
    .filter(([, same]) => !same)
    .map(([what]) => what);
  if (differ.length > 0) {
    throw new IdentityError('roster_mismatch', `the roster shows another ${differ.join(' and ')} than its certificate (${claim.describe()})`);
  }
}
