/**
 * When a video transform asks for a key frame: the policy, without the transform (sans-IO; time is
 * passed in), so it can be tested frame by frame.
 *
 * A receiver can decode only from a key frame. Whatever breaks the chain of frames (a packet lost
 * for good, a frame that does not decrypt, a key change, a new subscription), the receiver asks
 * the sender for a key frame (`sendKeyFrameRequest`, a PLI through Janus) until one decrypts. A
 * sender makes one (`generateKeyFrame`) when its frames start flowing and when its key epoch
 * changes, so every receiver gets a fresh key frame under the new key without asking.
 *
 * Both are rate-limited: one request per `KEY_FRAME_INTERVAL_MS` per track, since a key frame is
 * many times the size of a delta frame and every receiver's request reaches the one sender. A
 * request held back by the limit is not forgotten: it goes out with the first frame after the
 * interval. While frames keep failing to decrypt (no key for them yet, or a sender whose key this
 * device will never hold), asking again does not help, so the receiver's interval doubles with each
 * such request after the second, up to `KEY_FRAME_MAX_INTERVAL_MS`, and returns to the base once frames decrypt.
 */

export const KEY_FRAME_INTERVAL_MS = 500;
export const KEY_FRAME_MAX_INTERVAL_MS = 4000;

/** The receiving side of one video track. */
export class ReceiverKeyFrames {
  /** No key frame decrypted since the chain broke (a new track has none yet). */
  private awaiting = true;
  private lastAsked = -Infinity;
  /** Requests made while frames failed to decrypt, since one last decrypted: the back-off. */
  private failedAsks = 0;

  constructor(
    private readonly intervalMs = KEY_FRAME_INTERVAL_MS,
    private readonly maxIntervalMs = KEY_FRAME_MAX_INTERVAL_MS,
  ) {}

  /**
   * The senders switched keys: the frames a sender dropped while it waited to switch broke the
   * chain this receiver decodes, though everything after decrypts. Await a key frame again (the
   * sender makes one, but if it is lost the decoder would wait seconds before asking).
   */
  keysChanged(): void {
    this.awaiting = true;
  }

  /** A frame arrived at `now`: whether it decrypted, and whether it was a key frame. True: ask now. */
  frame(now: number, decrypted: boolean, keyFrame: boolean): boolean {
    if (decrypted && keyFrame) {
      this.awaiting = false;
      this.failedAsks = 0;
      return false;
    }
    if (!decrypted) this.awaiting = true;
    else this.failedAsks = 0; // frames decrypt again: the sender can answer, ask at the base rate
    if (!this.awaiting) return false;
    const interval = Math.min(this.maxIntervalMs, this.intervalMs * 2 ** Math.max(0, this.failedAsks - 1));
    if (now - this.lastAsked < interval) return false;
    this.lastAsked = now;
    if (!decrypted) this.failedAsks += 1;
    return true;
  }
}

/** The sending side of one video track. */
export class SenderKeyFrames {
  private flowing = false;
  private epoch: string | null = null;
  /** Key frames still to make, each at least the interval after the one before. */
  private pending = 0;
  private lastMade = -Infinity;

  constructor(private readonly intervalMs = KEY_FRAME_INTERVAL_MS) {}

  /**
   * A frame to send at `now`, sealed under key `epoch` (`sent`) or dropped for want of a key. True:
   * make a key frame now.
   */
  frame(now: number, sent: boolean, epoch: string | null): boolean {
    if (!sent) {
      this.flowing = false;
      return false;
    }
    if (!this.flowing || epoch !== this.epoch) this.pending = Math.max(this.pending, 1);
    this.flowing = true;
    this.epoch = epoch;
    if (this.pending === 0 || now - this.lastMade < this.intervalMs) return false;
    this.pending -= 1;
    this.lastMade = now;
    return true;
  }

  /**
   * The server says a subscription to this track came up: two key frames, the interval apart. The
   * media server keeps nothing to resend to a new subscription until it has timed its round trip
   * (a second or more), so a packet of the first one lost on the way is lost for good.
   */
  subscribed(): void {
    this.pending = Math.max(this.pending, 2);
  }
}
