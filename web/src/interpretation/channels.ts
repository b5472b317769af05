/**
 * What a device hears (docs/protocol.md, "Interpretation"): the floor, or one language channel
 * mixed over the floor turned down to the summit's `ducking` while that channel's booth has a
 * live interpreter. An interpreter hears the floor, or relays another language's channel instead
 * of it, and never its own channel.
 *
 * Pure functions of the roster, the booths and the device's choice: the call subscribes with
 * `hears`, the mixer takes its gains from `gainOf`. No WebRTC, no WebAudio, no storage here.
 */

import type { BoothInfo } from '../generated/wire';

/** A channel: a language tag, or null for the floor. */
export type Channel = string | null;

/** The floor's level under a live channel when the summit does not say (about -14 dB). */
export const DEFAULT_DUCKING = 0.2;

/** One language's booth, user ids as strings (as everywhere in the page). */
export interface Booth {
  language: string;
  interpreters: string[];
  /** The live interpreter, or null. */
  live: string | null;
  /** The live one has offered the channel to a booth mate (it stays live until one takes over). */
  handingOver: boolean;
  /** The live one holds the cough key: its voice is not forwarded. */
  muted: boolean;
}

/** The device that listens. */
export interface Listener {
  userId: string | null;
  /** An interpreter's own language (its booth); null for every other device. */
  language: string | null;
  /** What it chose to hear: a language or the floor. For an interpreter this is its source (relay). */
  channel: Channel;
}

/** A device of the roster, as far as listening goes. */
export interface Feed {
  userId: string;
  /** Set for interpreters: their feed is that channel, not the floor. */
  language: string | null;
}

export function parseBooths(booths: readonly BoothInfo[]): Booth[] {
  return booths.map((b) => ({
    language: b.language,
    interpreters: b.interpreters.map(String),
    live: b.live === null || b.live === undefined ? null : String(b.live),
    handingOver: b.handing_over,
    muted: b.muted,
  }));
}

export function boothOf(booths: readonly Booth[], language: Channel): Booth | null {
  if (language === null) return null;
  return booths.find((b) => b.language === language) ?? null;
}

/** Does this channel have someone live (the floor is turned down under it then)? */
export function channelLive(booths: readonly Booth[], channel: Channel): boolean {
  return boothOf(booths, channel)?.live != null;
}

/** The channels a device may choose: the floor and every language, less an interpreter's own. */
export function choices(languages: readonly string[], ownLanguage: string | null): Channel[] {
  return [null, ...languages.filter((l) => l !== ownLanguage)];
}

export function isChoice(channel: Channel, languages: readonly string[], ownLanguage: string | null): boolean {
  return channel === null || (languages.includes(channel) && channel !== ownLanguage);
}

/**
 * Where a device starts: its stored choice while the summit still offers it, else the server's
 * default (its delegation's working language, or the floor). An interpreter starts on the floor:
 * its delegation's language says nothing about what it interprets from.
 */
export function initialChannel(
  stored: Channel | undefined,
  defaultChannel: Channel,
  languages: readonly string[],
  ownLanguage: string | null,
): Channel {
  if (stored !== undefined && isChoice(stored, languages, ownLanguage)) return stored;
  if (ownLanguage !== null) return null;
  return isChoice(defaultChannel, languages, ownLanguage) ? defaultChannel : null;
}

/** Subscribe to this feed? Every floor feed (for its picture, even when its sound is off), and the chosen channel's feeds. */
export function hears(listener: Listener, feed: Feed): boolean {
  if (feed.userId === listener.userId) return false;
  if (feed.language === null) return true;
  return feed.language === listener.channel && feed.language !== listener.language;
}

/**
 * This feed's gain in the mix. A channel's feeds play at full level (only the live one is
 * forwarded, so they are one voice). The floor is full when listening to it, turned down to
 * `ducking` under a channel with a live interpreter (full while the booth is empty), and off for
 * an interpreter relaying another channel: it must hear only what it interprets.
 */
export function gainOf(listener: Listener, feed: Feed, booths: readonly Booth[], ducking: number): number {
  if (!hears(listener, feed)) return 0;
  if (feed.language !== null) return 1;
  if (listener.channel === null) return 1;
  if (listener.language !== null) return 0;
  return channelLive(booths, listener.channel) ? ducking : 1;
}

/** The summit's ducking, kept within 0..1 (a missing or odd value means the default). */
export function duckingOf(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1 ? value : DEFAULT_DUCKING;
}
