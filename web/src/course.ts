/**
 * The summit course as this device follows it: the phase, the lock, the times on the server's
 * clock (an offset to the local clock, taken from every `course` op), the clock warnings, and the
 * words the page uses for each phase and each ending.
 */

import { PHASES, type EndingCode, type Phase } from './generated/codes';
import type { CourseInfo } from './generated/wire';

export const PHASE_TEXT: Readonly<Record<Phase, string>> = {
  scheduled: 'Scheduled',
  lobby: 'Lobby',
  opening: 'Opening (press present)',
  closed_session: 'Closed session',
  ended: 'Ended',
};

/** The host's button for the step to each phase. */
export const ADVANCE_TEXT: Readonly<Record<Phase, string>> = {
  scheduled: 'Schedule',
  lobby: 'Open the lobby',
  opening: 'Start the opening (admit press)',
  closed_session: 'End the opening (cut the press)',
  ended: 'End the summit',
};

/** The phase the host may advance to from `phase` (the schema lists them in their order); null after the last. */
export function nextPhase(phase: Phase): Exclude<Phase, 'scheduled'> | null {
  const next = PHASES[PHASES.indexOf(phase) + 1];
  return next === undefined || next === 'scheduled' ? null : next;
}

/** Headlines of the final screens (the server's message goes under them). */
export const ENDING_TEXT: Readonly<Record<EndingCode, string>> = {
  admission_refused: 'Not admitted to the summit',
  summit_locked: 'The summit is locked',
  removed: 'Removed from the summit',
  invitation_revoked: 'This invitation link was revoked',
  opening_ended: 'The opening has ended. Thank you.',
  summit_ended: 'The summit has ended',
  unusable_commits: 'Removed from the summit',
  certificate_revoked: "This device's certificate was revoked",
  enrollment_declined: 'Not certified by your delegation',
};

/** What each final screen says when the server gave no message. */
export const ENDING_DETAIL: Readonly<Record<EndingCode, string>> = {
  admission_refused: 'The host did not admit this device.',
  summit_locked: 'The host has locked the summit: no more devices can join now.',
  removed: 'The host removed this device from the summit.',
  invitation_revoked: 'The link this device joined with no longer admits anyone. Ask the organiser for a new one.',
  opening_ended: 'The press leaves when the closed session begins.',
  summit_ended: 'Thank you for taking part.',
  unusable_commits: "The other members could not use this device's key changes, more than once, so the server removed it.",
  certificate_revoked: "Its delegation's security officer revoked this device's certificate: it may no longer take part.",
  enrollment_declined: "Your delegation's security officer declined to certify this device. Ask them before trying again.",
};

/**
 * ISO 8601 to milliseconds. The server sends UTC; a time without an offset is read as UTC (not as
 * local time), and fractions beyond milliseconds are cut (not every engine parses microseconds).
 */
export function parseIso(iso: string): number {
  let text = iso.trim().replace(/(\.\d{3})\d+/, '$1');
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) text += 'Z';
  return Date.parse(text);
}

/** Milliseconds as hh:mm:ss (negative values as their size). */
export function formatClock(ms: number): string {
  const total = Math.floor(Math.abs(ms) / 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}

export class CourseState {
  info: CourseInfo | null = null;
  /** Server clock minus local clock, in ms, from the last `course`. */
  offsetMs = 0;
  /** Every `clock_warning` received in this stay (minutes left: 10, then 2). */
  readonly warnings: number[] = [];

  update(info: CourseInfo, receivedAt: number = Date.now()): void {
    this.info = info;
    const server = parseIso(info.server_time);
    this.offsetMs = Number.isFinite(server) ? server - receivedAt : 0;
  }

  warn(minutesLeft: number): void {
    this.warnings.push(minutesLeft);
  }

  get phase(): Phase | null {
    return this.info?.phase ?? null;
  }

  /** Now on the server's clock. */
  serverNow(localNow: number = Date.now()): number {
    return localNow + this.offsetMs;
  }

  /** Time left until `ends_at` on the server's clock (negative once past it); null without a course. */
  remainingMs(localNow: number = Date.now()): number | null {
    if (!this.info) return null;
    const end = parseIso(this.info.ends_at);
    return Number.isFinite(end) ? end - this.serverNow(localNow) : null;
  }

  /**
   * Does the summit go on past `ends_at`? Only once the host allowed it (possible when `at_end` is
   * "overrun"); otherwise the server ends it at `ends_at`.
   */
  get overrunAllowed(): boolean {
    return this.info?.overrun === true;
  }
}
