/**
 * The frame layer, behind one small interface: whatever holds the media keys encrypts a whole
 * encoded frame for sending and decrypts one received from a given sender.
 *
 * Today davey (DAVE in Rust, built to WebAssembly) implements it (`DaveMember`); a WebCrypto
 * AES-GCM implementation of the same DAVE frame format could replace it without touching the
 * transforms or the page.
 */

import type { MediaKind } from './messages';

/** Why a received frame was not decrypted. */
export type DecryptFailure =
  /** We have no group key yet (still joining), or keys are changing right now: expected, not a problem. */
  | 'no_key'
  /** The frame carries no DAVE trailer: it was sent in the clear. Never played. */
  | 'unencrypted'
  /** It did not authenticate under any key held for this sender. */
  | 'failed';

export type DecryptResult = { ok: true; data: Uint8Array } | { ok: false; reason: DecryptFailure };

export interface FrameCryptor {
  /** The encrypted frame, or null when there is no key to send with: the caller drops the frame. */
  encrypt(mediaKind: MediaKind, frame: Uint8Array): Uint8Array | null;
  /** The plaintext frame, or why not: the caller drops it, never passes it through. */
  decrypt(senderId: string, mediaKind: MediaKind, frame: Uint8Array): DecryptResult;
  /** The key epoch frames are encrypted under now (null: none): a sender makes a key frame when it changes. */
  epoch(): string | null;
  /**
   * How many times the senders have switched keys (transitions executed): a receiver expects each
   * sender's frames to start over from a key frame after each.
   */
  keyChanges(): number;
}

/** Every DAVE frame ends with this marker (after the tag, nonce and unencrypted ranges). */
export const DAVE_MARKER = 0xfa;

/** Does `frame` end like a DAVE frame? Anything else was not encrypted by a member. */
export function hasDaveTrailer(frame: Uint8Array): boolean {
  const n = frame.length;
  // 8-byte tag + >= 1-byte nonce + 1-byte supplemental size + 2-byte marker at the very least.
  return n >= 12 && frame[n - 1] === DAVE_MARKER && frame[n - 2] === DAVE_MARKER;
}
