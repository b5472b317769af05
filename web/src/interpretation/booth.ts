/**
 * An interpreter's view of its booth (docs/protocol.md, "Booths"): at most one interpreter is
 * live; `take_over` works when nobody is, or when the live one has handed over (the server
 * answers `booth_busy` otherwise); the live one may `hand_over` and stays live until a booth mate
 * takes over; the cough key mutes the live voice at Janus. Pure functions for the console.
 */

import type { ErrorCode } from '../generated/codes';
import type { Booth } from './channels';

/** What the ON AIR indicator says about this device. */
export type AirState = 'off' | 'live' | 'muted' | 'handing_over';

export function airState(booth: Booth | null, self: string | null): AirState {
  if (booth === null || self === null || booth.live !== self) return 'off';
  if (booth.muted) return 'muted';
  return booth.handingOver ? 'handing_over' : 'live';
}

/** May this device take over now (the server decides; this only enables the button)? */
export function canTakeOver(booth: Booth | null, self: string | null): boolean {
  if (booth === null || self === null || booth.live === self) return false;
  return booth.live === null || booth.handingOver;
}

/**
 * Where this device stands in its booth, for the console's status line and for which button is
 * the call to action: nobody live (Take over), a booth mate live (nothing to do but wait), a booth
 * mate handed over (Take over), this device live (Hand over), this device handed over (waiting for
 * a booth mate to take over). `unknown`: the server has not described the booth yet.
 */
export type BoothSituation = 'unknown' | 'idle' | 'other_live' | 'other_handing_over' | 'self_live' | 'self_handing_over';

export function boothSituation(booth: Booth | null, self: string | null): BoothSituation {
  if (booth === null || self === null) return 'unknown';
  if (booth.live === null) return 'idle';
  if (booth.live === self) return booth.handingOver ? 'self_handing_over' : 'self_live';
  return booth.handingOver ? 'other_handing_over' : 'other_live';
}

export function canHandOver(booth: Booth | null, self: string | null): boolean {
  return booth !== null && self !== null && booth.live === self && !booth.handingOver;
}

/** The server's refusals of a booth op or of a channel publish, in words an interpreter can act on. */
export const REFUSAL_TEXT: Readonly<Record<string, string>> = {
  booth_busy: 'Someone else is live in this booth. You can take over once they hand over.',
  not_live: 'You are not live in this booth, so there is nothing to hand over or mute on air.',
  already_live: 'You are already live.',
  not_publishing: 'Your microphone is not connected to the media server yet. Try again in a moment.',
  channel_forbidden: 'The server refused to let this device speak into this channel.',
  audio_only: 'The server refused the connection: interpreters send sound only.',
  no_such_channel: 'This summit has no channel for this interpreter’s language.',
  forbidden: 'Only interpreters can do this.',
} satisfies Partial<Record<ErrorCode, string>>; // each key a code the protocol has

export function refusalText(code: string, message: string): string {
  return REFUSAL_TEXT[code] ?? (message || `The server refused this (${code}).`);
}
