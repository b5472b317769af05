/**
 * One device's interpretation state for a stay: the summit's channels, the booths as the server
 * last sent them, what this device chose to hear (kept on the device), and for an interpreter
 * its booth, its cough key and the last refusal. The call owns one and asks it which feeds to
 * subscribe to and at which gain to mix them; it never touches the network itself.
 */

import type { BoothInfo, OwnDevice, SummitInfo } from '../generated/wire';
import { airState, boothSituation, canHandOver, canTakeOver, type AirState, type BoothSituation } from './booth';
import {
  boothOf,
  channelLive,
  choices,
  duckingOf,
  gainOf,
  hears,
  initialChannel,
  isChoice,
  parseBooths,
  type Booth,
  type Channel,
  type Feed,
  type Listener,
} from './channels';
import { loadChoice, saveChoice } from './choice';

export class Listening {
  languages: string[] = [];
  ducking = duckingOf(undefined);
  /** An interpreter's own language (its booth); null for every other device. */
  ownLanguage: string | null = null;
  /** What this device hears: a language or the floor; an interpreter's source (floor or relay). */
  channel: Channel = null;
  booths: Booth[] = [];
  /** The cough key, as this device holds it (its microphone track is disabled while it is down). */
  coughing = false;
  /** The server's last refusal of a booth control or of the channel publish, in words. */
  notice: string | null = null;
  private userId: string | null = null;
  private chosen = false;
  /** The cough state sent during the current live turn (null: none sent since going live). */
  private sentCough: boolean | null = null;

  constructor(private readonly summitId: string) {}

  get interpreter(): boolean {
    return this.ownLanguage !== null;
  }

  /** Does the summit interpret at all (no languages: everyone hears the floor, nothing to choose)? */
  get active(): boolean {
    return this.languages.length > 0;
  }

  /** From `ready`. The first one of a stay picks the channel; a reconnect keeps the choice. */
  configure(device: OwnDevice, summit: SummitInfo): void {
    this.userId = String(device.user_id);
    this.languages = [...(summit.languages ?? [])];
    this.ducking = duckingOf(summit.ducking);
    this.ownLanguage = device.role === 'interpreter' ? (device.language ?? null) : null;
    if (!this.chosen || !isChoice(this.channel, this.languages, this.ownLanguage)) {
      const stored = loadChoice(this.summitId, this.interpreter);
      this.channel = initialChannel(stored, device.default_channel ?? null, this.languages, this.ownLanguage);
      this.chosen = true;
    }
    this.booths = [];
    this.sentCough = null;
  }

  get listener(): Listener {
    return { userId: this.userId, language: this.ownLanguage, channel: this.channel };
  }

  /** The channels this device may choose (an interpreter never its own). */
  get choices(): Channel[] {
    return choices(this.languages, this.ownLanguage);
  }

  /** Choose what to hear; kept on the device. False when it is no choice (or no change). */
  choose(channel: Channel): boolean {
    if (!isChoice(channel, this.languages, this.ownLanguage) || channel === this.channel) return false;
    this.channel = channel;
    saveChoice(this.summitId, this.interpreter, channel);
    return true;
  }

  setBooths(booths: readonly BoothInfo[]): void {
    this.booths = parseBooths(booths);
    if (this.air === 'off') this.sentCough = null;
  }

  hears(feed: Feed): boolean {
    return hears(this.listener, feed);
  }

  gain(feed: Feed): number {
    return gainOf(this.listener, feed, this.booths, this.ducking);
  }

  /** The booth of the channel this device hears (null: the floor). */
  get heardBooth(): Booth | null {
    return boothOf(this.booths, this.channel);
  }

  /** Is someone live in the channel this device hears (the floor is turned down under it)? */
  get channelLive(): boolean {
    return channelLive(this.booths, this.channel);
  }

  // -- an interpreter's booth -------------------------------------------------------------

  get ownBooth(): Booth | null {
    return boothOf(this.booths, this.ownLanguage);
  }

  get air(): AirState {
    return airState(this.ownBooth, this.userId);
  }

  get canTakeOver(): boolean {
    return canTakeOver(this.ownBooth, this.userId);
  }

  get canHandOver(): boolean {
    return canHandOver(this.ownBooth, this.userId);
  }

  get situation(): BoothSituation {
    return boothSituation(this.ownBooth, this.userId);
  }

  /** The cough key moved (the call disables the track and tells the server, live or not). */
  cough(down: boolean): void {
    this.coughing = down;
    if (this.air !== 'off') this.sentCough = down;
  }

  /**
   * The cough state to send again, if any: while live, when the server's differs from the key
   * (this device reconnected with the key down, say), once per value per live turn so that a
   * refusal cannot loop.
   */
  coughToSend(): boolean | null {
    const booth = this.ownBooth;
    if (this.air === 'off' || booth === null) return null;
    if (booth.muted === this.coughing || this.sentCough === this.coughing) return null;
    this.sentCough = this.coughing;
    return this.coughing;
  }
}
