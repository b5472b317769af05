/**
 * A key frame from the page's video sender (src/e2ee/keyFrameMaker.ts), on a fake sender that
 * records the encodings' `active` flags it is given: off, then on again, never left off.
 */

import { describe, expect, test } from 'vitest';

import { KeyFrameMaker, type ParameterisedSender } from '../src/e2ee/keyFrameMaker';

class FakeSender implements ParameterisedSender {
  readonly set: boolean[][] = [];
  active = [true];
  failNext = false;
  release: (() => void) | null = null;

  getParameters(): RTCRtpSendParameters {
    return { transactionId: 't', encodings: this.active.map((active) => ({ active })), codecs: [], headerExtensions: [], rtcp: {} };
  }

  async setParameters(parameters: RTCRtpSendParameters): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('InvalidStateError');
    }
    await new Promise<void>((resolve) => {
      this.release = resolve;
    });
    this.active = parameters.encodings.map((e) => e.active ?? true);
    this.set.push(this.active);
  }
}

/** Run `make` while answering every setParameters as it comes. */
async function made(maker: KeyFrameMaker, sender: FakeSender): Promise<void> {
  const done = maker.make();
  for (let i = 0; i < 10 && sender.release === null; i++) await Promise.resolve();
  while (sender.release !== null) {
    const release = sender.release;
    sender.release = null;
    release();
    for (let i = 0; i < 10 && sender.release === null; i++) await Promise.resolve();
  }
  await done;
}

describe('KeyFrameMaker (fake sender)', () => {
  test('switches the encodings off and on again', async () => {
    const sender = new FakeSender();
    sender.active = [true, true];
    const maker = new KeyFrameMaker();
    maker.use(sender);
    await made(maker, sender);
    expect(sender.set).toStrictEqual([
      [false, false],
      [true, true],
    ]);
  });

  test('turns the encoding on again even when switching it off failed', async () => {
    const sender = new FakeSender();
    sender.failNext = true;
    const maker = new KeyFrameMaker();
    maker.use(sender);
    await made(maker, sender);
    expect(sender.set).toStrictEqual([[true]]);
    expect(sender.active).toStrictEqual([true]);
  });

  test('a request while one is being made is part of it, and without a sender nothing happens', async () => {
    const sender = new FakeSender();
    const maker = new KeyFrameMaker();
    await maker.make();
    maker.use(sender);
    const first = made(maker, sender);
    await maker.make(); // returns at once: the first is under way
    await first;
    expect(sender.set).toStrictEqual([[false], [true]]);
  });
});
