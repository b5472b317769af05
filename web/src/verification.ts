/**
 * What the page says of each device's identity, and of the summit's: certified by which
 * delegation (pinned), unverified, or an alarm with its reason in words. Pure: the call gives it
 * certified mode's view (from the worker) and the alarms raised; tiles, "Also in the call" and the
 * header read the answers.
 */

import type { IdentityView } from './e2ee/messages';

export type VerificationState = 'certified' | 'unverified' | 'pending' | 'alarm';

export interface Verification {
  state: VerificationState;
  /** For people: one short line (a tile's badge). */
  text: string;
  /** The longer reason, for a tooltip and the alarm banner. */
  detail: string;
}

/** An alarm as far as verification reads it: which member, and what was said. */
export interface NamedAlarm {
  reason: string;
  userId: string | null;
  text: string;
}

const IDENTITY_ALARMS: ReadonlySet<string> = new Set(['uncertified', 'attestation_mismatch', 'attestation_silent']);

/** Short words for each identity alarm, as a tile's badge says it. */
const BADGE: Record<string, string> = {
  uncertified: 'Not certified',
  attestation_mismatch: 'In another key group',
  attestation_silent: 'Did not confirm the key group',
};

/**
 * One device's state. `certified`: certified mode (a summit with pins, a link naming the own
 * delegation); null `view`: the worker has said nothing yet.
 */
export function verificationOf(userId: string, certified: boolean, view: IdentityView | null, alarms: readonly NamedAlarm[]): Verification {
  if (!certified) return { state: 'unverified', text: 'Unverified', detail: 'This summit has no certified identities: compare the codes aloud to verify this device.' };
  const alarm = alarms.find((a) => a.userId === userId && IDENTITY_ALARMS.has(a.reason));
  const verdict = view?.verdicts.find((v) => v.userId === userId);
  if (verdict && verdict.problem !== null) return { state: 'alarm', text: BADGE.uncertified ?? 'Not certified', detail: verdict.text };
  if (alarm) return { state: 'alarm', text: BADGE[alarm.reason] ?? 'Alarm', detail: alarm.text };
  if (verdict && verdict.delegation !== null) {
    return { state: 'certified', text: `Certified by ${verdict.delegation} (pinned)`, detail: verdict.text };
  }
  return { state: 'pending', text: 'Checking its certificate…', detail: 'Not checked yet: it has not joined this device’s key group, or not yet confirmed it (its attestation of the epoch).' };
}

/** The summit-wide state for the header. */
export function summaryOf(certified: boolean, pinned: boolean, view: IdentityView | null): Verification {
  if (!certified) {
    const detail = pinned
      ? 'This summit certifies its devices, but your link does not name your delegation: this device cannot check them.'
      : 'This summit has no certified identities: compare the codes aloud.';
    return { state: 'unverified', text: 'Identities unverified', detail };
  }
  if (view === null || view.pins === 'missing') return { state: 'pending', text: 'Waiting for your delegation’s pins', detail: 'Your delegation has not published the pins of this summit yet.' };
  if (view.pins === 'refused') return { state: 'alarm', text: 'Pins refused', detail: 'The pins the server relayed are not signed by your delegation.' };
  if (view.pins === 'differ') return { state: 'alarm', text: 'Pins differ', detail: 'The summit shows other pins than your delegation signed.' };
  if (view.summary === null) return { state: 'pending', text: 'Checking identities…', detail: 'Every member is checked as this device enters the key group.' };
  const allGood = view.verdicts.every((v) => v.problem === null);
  return { state: allGood ? 'certified' : 'alarm', text: allGood ? view.summary.charAt(0).toUpperCase() + view.summary.slice(1) : view.summary, detail: `Pinned by ${view.ownDelegation ?? 'your delegation'}.` };
}
