/**
 * One RTCRtpScriptTransform's stream, in the worker: each instance en- or decrypts the frames of a
 * single sender or receiver track, through whatever `FrameCryptor` currently holds the keys.
 *
 * A frame is either transformed or dropped: a sender with no key drops its frames, a receiver drops
 * every frame that does not decrypt. Nothing passes through untouched. A video transform asks for
 * key frames as keyFrames.ts says: a receiver until one decrypts, a sender at each new key epoch.
 */

import type { FrameCryptor, DecryptFailure } from './frameCryptor';
import { ReceiverKeyFrames, SenderKeyFrames } from './keyFrames';
import type { FrameCost, FrameStatsMessage, SenderFrameCounts, TransformOptions } from './messages';

type EncodedFrame = RTCEncodedAudioFrame | RTCEncodedVideoFrame;

function emptyCost(): FrameCost {
  return { frames: 0, ms: 0, maxMs: 0 };
}

function addCost(cost: FrameCost, ms: number): void {
  cost.frames += 1;
  cost.ms += ms;
  if (ms > cost.maxMs) cost.maxMs = ms;
}

/** Counts since the last report, shared by every transform of the worker. */
export class FrameStats {
  private senders: Record<string, SenderFrameCounts> = {};
  private encrypted = 0;
  private unsent = 0;
  private encryptCost = emptyCost();
  private decryptCost = emptyCost();
  private dirty = false;

  encryptedFrame(ms: number): void {
    this.encrypted += 1;
    addCost(this.encryptCost, ms);
    this.dirty = true;
  }

  unsentFrame(): void {
    this.unsent += 1;
    this.dirty = true;
  }

  decryptedFrame(sender: string, ms: number): void {
    this.sender(sender).decrypted += 1;
    addCost(this.decryptCost, ms);
    this.dirty = true;
  }

  droppedFrame(sender: string, reason: DecryptFailure): void {
    const counts = this.sender(sender);
    if (reason === 'no_key') counts.early += 1;
    else counts.failed += 1;
    this.dirty = true;
  }

  /** The counts since the previous call, or null if nothing happened. */
  take(): FrameStatsMessage | null {
    if (!this.dirty) return null;
    const report = {
      kind: 'frameStats',
      senders: this.senders,
      encrypted: this.encrypted,
      unsent: this.unsent,
      encrypt: this.encryptCost,
      decrypt: this.decryptCost,
    } satisfies FrameStatsMessage;
    this.senders = {};
    this.encrypted = 0;
    this.unsent = 0;
    this.encryptCost = emptyCost();
    this.decryptCost = emptyCost();
    this.dirty = false;
    return report;
  }

  private sender(id: string): SenderFrameCounts {
    let counts = this.senders[id];
    if (counts === undefined) {
      counts = { decrypted: 0, failed: 0, early: 0 };
      this.senders[id] = counts;
    }
    return counts;
  }
}

export function parseTransformOptions(options: unknown): TransformOptions {
  const o = (options ?? {}) as Partial<Record<keyof TransformOptions, unknown>>;
  if (o.kind !== 'encrypt' && o.kind !== 'decrypt') throw new Error('transform options: kind must be encrypt or decrypt');
  if (o.mediaKind !== 'audio' && o.mediaKind !== 'video') throw new Error('transform options: mediaKind must be audio or video');
  if (typeof o.userId !== 'string' || !/^\d+$/.test(o.userId)) throw new Error('transform options: userId must be decimal');
  return { kind: o.kind, userId: o.userId, mediaKind: o.mediaKind };
}

/**
 * Ask for a key frame without letting a refusal escape: Chromium throws synchronously (not only
 * rejects) when it cannot, and an exception in `transform` would error the stream for good.
 */
function quietly(request: () => Promise<unknown>): void {
  try {
    request().catch(() => undefined);
  } catch {
    // not possible right now; the receiver's decoder asks by itself (PLI)
  }
}

function isKeyFrame(frame: EncodedFrame): boolean {
  return 'type' in frame && frame.type === 'key';
}

export class TrackTransform {
  private readonly receiverKeyFrames = new ReceiverKeyFrames();
  private readonly senderKeyFrames = new SenderKeyFrames();
  /** The cryptor's `keyChanges()` as this video receiver last saw it (null: no frame yet). */
  private keyChanges: number | null = null;

  /**
   * `askPage`: how a sender gets a key frame where its transformer cannot make one (Chromium has
   * no `generateKeyFrame`): the page pauses and resumes the sender's encoding.
   */
  constructor(
    private readonly transformer: RTCRtpScriptTransformer,
    readonly options: TransformOptions,
    private readonly cryptor: () => FrameCryptor | null,
    private readonly stats: FrameStats,
    private readonly askPage: () => void,
  ) {}

  /** A subscription to this (sending, video) track came up: its receiver starts from a key frame. */
  subscribed(): void {
    this.senderKeyFrames.subscribed();
  }

  /** Runs the transform; settles when its streams end (the sender or receiver went away). */
  start(): Promise<void> {
    const transform = new TransformStream<EncodedFrame, EncodedFrame>({
      transform: (frame, controller) => {
        try {
          if (this.options.kind === 'encrypt') this.encrypt(frame, controller);
          else this.decrypt(frame, controller);
        } catch {
          // Whatever went wrong, this frame is dropped (never passed on) and the stream lives on.
        }
      },
    });
    // The streams end when the sender or receiver goes away (its peer connection closed).
    return this.transformer.readable
      .pipeThrough(transform)
      .pipeTo(this.transformer.writable as WritableStream<EncodedFrame>) // lib.webworker types it WritableStream<any>
      .catch(() => undefined);
  }

  private encrypt(frame: EncodedFrame, controller: TransformStreamDefaultController<EncodedFrame>): void {
    const cryptor = this.cryptor();
    const started = performance.now();
    const sealed = cryptor ? cryptor.encrypt(this.options.mediaKind, new Uint8Array(frame.data)) : null;
    const video = this.options.mediaKind === 'video';
    if (sealed === null) {
      this.stats.unsentFrame();
      if (video) this.senderKeyFrames.frame(started, false, null);
      return; // no key yet: the frame is not sent at all
    }
    this.stats.encryptedFrame(performance.now() - started);
    frame.data = sealed.buffer as ArrayBuffer;
    controller.enqueue(frame);
    // Receivers can only start decoding at a key frame: one now that frames flow, or flow under a new key.
    if (video && this.senderKeyFrames.frame(started, true, cryptor?.epoch() ?? null)) this.makeKeyFrame();
  }

  private makeKeyFrame(): void {
    // lib.dom declares it; Chromium's transformer lacks it, Firefox's and Safari's have it.
    if (typeof this.transformer.generateKeyFrame === 'function') quietly(() => this.transformer.generateKeyFrame());
    else this.askPage();
  }

  private decrypt(frame: EncodedFrame, controller: TransformStreamDefaultController<EncodedFrame>): void {
    const cryptor = this.cryptor();
    const started = performance.now();
    const result = cryptor
      ? cryptor.decrypt(this.options.userId, this.options.mediaKind, new Uint8Array(frame.data))
      : ({ ok: false, reason: 'no_key' } as const);
    if (this.options.mediaKind === 'video') {
      const keyChanges = cryptor?.keyChanges() ?? null;
      if (this.keyChanges !== null && keyChanges !== this.keyChanges) this.receiverKeyFrames.keysChanged();
      this.keyChanges = keyChanges;
      // Until a key frame decrypts, the decoder has nothing to start from: ask the sender for one.
      if (this.receiverKeyFrames.frame(started, result.ok, isKeyFrame(frame))) quietly(() => this.transformer.sendKeyFrameRequest());
    }
    if (!result.ok) {
      this.stats.droppedFrame(this.options.userId, result.reason);
      return; // never decoded: an undecryptable frame is dropped, not passed through
    }
    this.stats.decryptedFrame(this.options.userId, performance.now() - started);
    frame.data = result.data.buffer as ArrayBuffer;
    controller.enqueue(frame);
  }
}
