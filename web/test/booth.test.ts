/** An interpreter's booth as its console shows it (src/interpretation/booth.ts). */

import { describe, expect, test } from 'vitest';

import { airState, boothSituation, canHandOver, canTakeOver, REFUSAL_TEXT, refusalText } from '../src/interpretation/booth';
import type { Booth } from '../src/interpretation/channels';

const ME = '21';
const MATE = '20';

function booth(live: string | null, handingOver = false, muted = false): Booth {
  return { language: 'fr', interpreters: [MATE, ME], live, handingOver, muted };
}

describe('where this interpreter stands, and which control applies', () => {
  // [booth, situation, ON AIR, may take over, may hand over]
  const cases: [string, Booth | null, string, string, boolean, boolean][] = [
    ['booth not described yet', null, 'unknown', 'off', false, false],
    ['nobody live', booth(null), 'idle', 'off', true, false],
    ['a booth mate live', booth(MATE), 'other_live', 'off', false, false],
    ['a booth mate handed over', booth(MATE, true), 'other_handing_over', 'off', true, false],
    ['this device live', booth(ME), 'self_live', 'live', false, true],
    ['this device live, coughing', booth(ME, false, true), 'self_live', 'muted', false, true],
    ['this device handed over', booth(ME, true), 'self_handing_over', 'handing_over', false, false],
  ];
  test.each(cases)('%s', (_name, b, situation, air, takeOver, handOver) => {
    expect(boothSituation(b, ME)).toBe(situation);
    expect(airState(b, ME)).toBe(air);
    expect(canTakeOver(b, ME)).toBe(takeOver);
    expect(canHandOver(b, ME)).toBe(handOver);
  });

  test('a device that does not know its own user id yet can do nothing and is off air', () => {
    expect(boothSituation(booth(ME), null)).toBe('unknown');
    expect(airState(booth(ME), null)).toBe('off');
    expect(canTakeOver(booth(null), null)).toBe(false);
    expect(canHandOver(booth(ME), null)).toBe(false);
  });

  test('the cough key shows before handing over: a muted live one is muted on air', () => {
    expect(airState(booth(ME, true, true), ME)).toBe('muted');
  });
});

describe('refusals in words', () => {
  test('every code the server uses for booth ops has its own text', () => {
    for (const code of ['booth_busy', 'not_live', 'already_live', 'not_publishing', 'channel_forbidden', 'audio_only', 'no_such_channel', 'forbidden']) {
      expect(refusalText(code, 'server words')).toBe(REFUSAL_TEXT[code]);
    }
  });

  test("an unknown code shows the server's message, or names the code when there is none", () => {
    expect(refusalText('new_rule', 'Not during the vote.')).toBe('Not during the vote.');
    expect(refusalText('new_rule', '')).toBe('The server refused this (new_rule).');
  });
});
