/**
 * A key frame on demand from this page's video sender, for when its transform wants one and
 * cannot make it: Chromium's RTCRtpScriptTransformer has `sendKeyFrameRequest` (a receiver asks)
 * but no `generateKeyFrame` (a sender makes one). Switching the sender's encodings off and on again
 * makes the encoder start over, and an encoder starts with a key frame (measured in Chromium 156:
 * one more `keyFramesEncoded` per switch; changing `maxBitrate` makes none).
 *
 * Without it a sender's own key frames (when its frames start to flow, at each new key, for each
 * new subscription: keyFrames.ts) never happen in Chromium, and a receiver whose chain of frames
 * broke while the sender dropped frames (waiting for a key) decodes nothing until its own decoder
 * gives up waiting (about 3 s) and asks.
 */

/** What this needs of an RTCRtpSender (a fake in the unit tests). */
export interface ParameterisedSender {
  getParameters(): RTCRtpSendParameters;
  setParameters(parameters: RTCRtpSendParameters): Promise<void>;
}

export class KeyFrameMaker {
  private sender: ParameterisedSender | null = null;
  private making = false;

  /** The video sender of the current publisher (a new one replaces it after a reconnection). */
  use(sender: ParameterisedSender): void {
    this.sender = sender;
  }

  /** Make a key frame; a request while one is being made is part of it. */
  async make(): Promise<void> {
    const sender = this.sender;
    if (sender === null || this.making) return;
    this.making = true;
    try {
      await setActive(sender, false);
    } catch {
      // The sender is gone, or refused: nothing was switched off.
    }
    try {
      await setActive(sender, true); // whatever happened above, the encoding must not stay off
    } catch {
      // The sender is gone.
    }
    this.making = false;
  }
}

async function setActive(sender: ParameterisedSender, active: boolean): Promise<void> {
  const parameters = sender.getParameters();
  if (parameters.encodings.length === 0) return;
  for (const encoding of parameters.encodings) encoding.active = active;
  await sender.setParameters(parameters);
}
