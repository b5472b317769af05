/** What a device hears (src/interpretation/channels.ts): subscriptions, gains, choices. */

import { describe, expect, test } from 'vitest';

import {
  boothOf,
  channelLive,
  choices,
  DEFAULT_DUCKING,
  duckingOf,
  gainOf,
  hears,
  initialChannel,
  isChoice,
  parseBooths,
  type Booth,
  type Feed,
  type Listener,
} from '../src/interpretation/channels';

const LANGUAGES = ['en', 'fr', 'de'];

const floor: Feed = { userId: '10', language: null };
const frInterpreter: Feed = { userId: '20', language: 'fr' };
const deInterpreter: Feed = { userId: '30', language: 'de' };

function booth(language: string, live: string | null, extra: Partial<Booth> = {}): Booth {
  return { language, interpreters: ['20', '21', '30'], live, handingOver: false, muted: false, ...extra };
}

const delegate = (channel: string | null): Listener => ({ userId: '99', language: null, channel });
const frBooth = (channel: string | null): Listener => ({ userId: '21', language: 'fr', channel });

describe('parseBooths', () => {
  test('user ids become strings, a missing live one is null', () => {
    const parsed = parseBooths([
      { language: 'fr', interpreters: [20, 21], live: 21, handing_over: true, muted: false },
      { language: 'de', interpreters: [30], live: null, handing_over: false, muted: true },
    ]);
    expect(parsed).toStrictEqual([
      { language: 'fr', interpreters: ['20', '21'], live: '21', handingOver: true, muted: false },
      { language: 'de', interpreters: ['30'], live: null, handingOver: false, muted: true },
    ]);
  });
});

describe('booths and choices', () => {
  test('the floor has no booth; a language has its own, or none when the summit lacks it', () => {
    const booths = [booth('fr', '20'), booth('de', null)];
    expect(boothOf(booths, null)).toBeNull();
    expect(boothOf(booths, 'de')?.language).toBe('de');
    expect(boothOf(booths, 'it')).toBeNull();
    expect(channelLive(booths, 'fr')).toBe(true);
    expect(channelLive(booths, 'de')).toBe(false);
    expect(channelLive(booths, null)).toBe(false);
  });

  test('an interpreter may choose the floor and every language but its own', () => {
    expect(choices(LANGUAGES, null)).toStrictEqual([null, 'en', 'fr', 'de']);
    expect(choices(LANGUAGES, 'fr')).toStrictEqual([null, 'en', 'de']);
    expect(isChoice('fr', LANGUAGES, 'fr')).toBe(false);
    expect(isChoice('it', LANGUAGES, null)).toBe(false);
    expect(isChoice(null, LANGUAGES, 'fr')).toBe(true);
  });

  test('a stored choice wins while the summit offers it; else the default; an interpreter starts on the floor', () => {
    expect(initialChannel('de', 'fr', LANGUAGES, null)).toBe('de');
    expect(initialChannel(null, 'fr', LANGUAGES, null)).toBeNull(); // the floor, chosen and stored
    expect(initialChannel('it', 'fr', LANGUAGES, null)).toBe('fr'); // no longer offered
    expect(initialChannel(undefined, 'fr', LANGUAGES, null)).toBe('fr');
    expect(initialChannel(undefined, 'it', LANGUAGES, null)).toBeNull();
    expect(initialChannel(undefined, 'en', LANGUAGES, 'fr')).toBeNull();
    expect(initialChannel('de', 'en', LANGUAGES, 'fr')).toBe('de'); // its relay source
    expect(initialChannel('fr', 'en', LANGUAGES, 'fr')).toBeNull(); // never its own channel
  });
});

describe('hears', () => {
  test('every floor feed, for its picture, whatever the channel; never its own feed', () => {
    expect(hears(delegate(null), floor)).toBe(true);
    expect(hears(delegate('fr'), floor)).toBe(true);
    expect(hears({ userId: '10', language: null, channel: null }, floor)).toBe(false);
  });

  test("a channel's interpreters only when that channel is chosen", () => {
    expect(hears(delegate('fr'), frInterpreter)).toBe(true);
    expect(hears(delegate('fr'), deInterpreter)).toBe(false);
    expect(hears(delegate(null), frInterpreter)).toBe(false);
  });

  test('an interpreter hears its relay source but never its own channel, even its booth mates', () => {
    expect(hears(frBooth('de'), deInterpreter)).toBe(true);
    expect(hears(frBooth('fr'), frInterpreter)).toBe(false);
    expect(hears(frBooth(null), frInterpreter)).toBe(false);
  });
});

describe('gainOf', () => {
  const live = [booth('fr', '20'), booth('de', null)];

  test('on the floor, the floor plays at full level and no channel plays', () => {
    expect(gainOf(delegate(null), floor, live, 0.3)).toBe(1);
    expect(gainOf(delegate(null), frInterpreter, live, 0.3)).toBe(0);
  });

  test('the floor is ducked under a live channel, full while its booth is empty', () => {
    expect(gainOf(delegate('fr'), floor, live, 0.3)).toBe(0.3);
    expect(gainOf(delegate('fr'), frInterpreter, live, 0.3)).toBe(1);
    expect(gainOf(delegate('de'), floor, live, 0.3)).toBe(1);
  });

  test('an interpreter relaying hears the relay alone: the floor is off', () => {
    expect(gainOf(frBooth('de'), floor, live, 0.3)).toBe(0);
    expect(gainOf(frBooth('de'), deInterpreter, live, 0.3)).toBe(1);
    expect(gainOf(frBooth(null), floor, live, 0.3)).toBe(1);
  });
});

describe('duckingOf', () => {
  test('a level within 0..1 is kept; anything else means the default', () => {
    expect(duckingOf(0)).toBe(0);
    expect(duckingOf(0.5)).toBe(0.5);
    expect(duckingOf(1)).toBe(1);
    for (const odd of [undefined, null, '0.5', -0.1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(duckingOf(odd)).toBe(DEFAULT_DUCKING);
    }
  });
});
