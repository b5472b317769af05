/** The summit course as a device follows it (src/course.ts) and the endings the server announces (src/signaling.ts). */

import { describe, expect, test } from 'vitest';

import { ADVANCE_TEXT, CourseState, ENDING_DETAIL, ENDING_TEXT, formatClock, nextPhase, parseIso, PHASE_TEXT } from '../src/course';
import { ENDING_CODES, PHASES } from '../src/generated/codes';
import type { CourseInfo } from '../src/generated/wire';
import {
  CLOSE_LEFT,
  CLOSE_OPENING_ENDED,
  CLOSE_REMOVED,
  CLOSE_SUMMIT_ENDED,
  CLOSE_UNUSABLE_COMMITS,
  ENDING_FOR_CLOSE,
  FINAL_CLOSE_CODES,
  isEndingCode,
} from '../src/signaling';

function course(overrides: Partial<CourseInfo> = {}): CourseInfo {
  return {
    phase: 'opening',
    locked: false,
    starts_at: '2026-11-30T10:00:00Z',
    ends_at: '2026-11-30T11:00:00Z',
    server_time: '2026-11-30T10:30:00Z',
    at_end: 'hard_stop',
    overrun: false,
    admission: 'host',
    ...overrides,
  };
}

describe('phases', () => {
  test('the host steps through the phases in order, and nothing follows the end', () => {
    expect(nextPhase('scheduled')).toBe('lobby');
    expect(nextPhase('lobby')).toBe('opening');
    expect(nextPhase('opening')).toBe('closed_session');
    expect(nextPhase('closed_session')).toBe('ended');
    expect(nextPhase('ended')).toBeNull();
  });

  test('every phase has words for its badge and for the button that leads to it', () => {
    for (const phase of PHASES) {
      expect(PHASE_TEXT[phase]).toMatch(/\S/);
      expect(ADVANCE_TEXT[phase]).toMatch(/\S/);
    }
  });
});

describe('endings', () => {
  test('each ending code has a headline and a detail, and is known as an ending', () => {
    for (const code of ENDING_CODES) {
      expect(isEndingCode(code)).toBe(true);
      if (!isEndingCode(code)) continue;
      expect(ENDING_TEXT[code]).toMatch(/\S/);
      expect(ENDING_DETAIL[code]).toMatch(/\S/);
    }
    expect(Object.keys(ENDING_TEXT).sort()).toStrictEqual([...ENDING_CODES].sort());
  });

  test('a refusal that does not end the stay is not an ending', () => {
    expect(isEndingCode('forbidden')).toBe(false);
    expect(isEndingCode('booth_busy')).toBe(false);
  });

  test('a final close says which ending it was when no error op came first; leaving is not final', () => {
    expect(ENDING_FOR_CLOSE[CLOSE_OPENING_ENDED]).toBe('opening_ended');
    expect(ENDING_FOR_CLOSE[CLOSE_SUMMIT_ENDED]).toBe('summit_ended');
    expect(ENDING_FOR_CLOSE[CLOSE_REMOVED]).toBe('removed');
    expect(ENDING_FOR_CLOSE[CLOSE_UNUSABLE_COMMITS]).toBe('unusable_commits');
    for (const code of Object.keys(ENDING_FOR_CLOSE)) expect(FINAL_CLOSE_CODES.has(Number(code))).toBe(true);
    expect(FINAL_CLOSE_CODES.has(CLOSE_LEFT)).toBe(false);
  });
});

describe('parseIso', () => {
  test('a time without an offset is UTC, not local time', () => {
    expect(parseIso('2026-11-30T10:00:00')).toBe(Date.UTC(2026, 10, 30, 10, 0, 0));
    expect(parseIso('2026-11-30T10:00')).toBe(Date.UTC(2026, 10, 30, 10, 0, 0));
  });

  test('microseconds are cut to milliseconds; offsets are honoured', () => {
    expect(parseIso('2026-11-30T10:00:00.123456')).toBe(Date.UTC(2026, 10, 30, 10, 0, 0, 123));
    expect(parseIso('2026-11-30T10:00:00.123456+00:00')).toBe(Date.UTC(2026, 10, 30, 10, 0, 0, 123));
    expect(parseIso(' 2026-11-30T12:00:00+02:00 ')).toBe(Date.UTC(2026, 10, 30, 10, 0, 0));
  });

  test('what is not a time is NaN', () => {
    expect(parseIso('soon')).toBeNaN();
  });
});

describe('formatClock', () => {
  test('hours, minutes and seconds, two digits each; a negative time by its size', () => {
    expect(formatClock(0)).toBe('00:00:00');
    expect(formatClock(59_999)).toBe('00:00:59');
    expect(formatClock((3 * 3600 + 4 * 60 + 5) * 1000)).toBe('03:04:05');
    expect(formatClock(-61_000)).toBe('00:01:01');
  });
});

describe('CourseState', () => {
  test("the clock runs on the server's time: the offset comes from each course op", () => {
    const state = new CourseState();
    expect(state.remainingMs(0)).toBeNull();
    expect(state.phase).toBeNull();
    const localNow = Date.UTC(2026, 10, 30, 10, 25, 0); // 5 minutes behind the server
    state.update(course(), localNow);
    expect(state.offsetMs).toBe(5 * 60_000);
    expect(state.serverNow(localNow)).toBe(Date.UTC(2026, 10, 30, 10, 30, 0));
    expect(state.remainingMs(localNow)).toBe(30 * 60_000);
    expect(state.remainingMs(localNow + 31 * 60_000)).toBe(-60_000);
    expect(state.phase).toBe('opening');
  });

  test('an unreadable server time keeps the local clock; an unreadable end gives no remaining time', () => {
    const state = new CourseState();
    state.update(course({ server_time: 'garbage', ends_at: 'never' }), 1000);
    expect(state.offsetMs).toBe(0);
    expect(state.remainingMs(1000)).toBeNull();
  });

  test('the summit runs past its end only once the host allowed it', () => {
    const state = new CourseState();
    state.update(course({ at_end: 'overrun' }), 0);
    expect(state.overrunAllowed).toBe(false);
    state.update(course({ at_end: 'overrun', overrun: true }), 0);
    expect(state.overrunAllowed).toBe(true);
  });

  test('clock warnings are kept in the order they came', () => {
    const state = new CourseState();
    state.warn(10);
    state.warn(2);
    expect(state.warnings).toStrictEqual([10, 2]);
  });
});
