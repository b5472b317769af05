/**
 * A tile's link quality (src/quality.ts) from getStats-like counters, sample by sample: loss over
 * the window, the round trip, a picture that stops advancing, and the words shown for them.
 */

import { describe, expect, test } from 'vitest';

import { FROZEN_MS, QUALITY_WINDOW_MS, QualityMeter, describeQuality, qualityBadge, type LinkSample } from '../src/quality';

/** Samples every 500 ms: `perSecond` packets arriving, `lostPercent` of those expected lost, 30 frames a second. */
function steady(meter: QualityMeter, from: number, seconds: number, lostPercent: number, rtt: number | null, start?: LinkSample): LinkSample {
  let s: LinkSample = start ?? { at: from, packetsReceived: 0, packetsLost: 0, framesDecoded: 0, roundTripMs: rtt };
  meter.add(s);
  for (let i = 0; i < seconds * 2; i++) {
    const expected = 100; // 200 packets a second
    const lost = (expected * lostPercent) / 100;
    s = { at: s.at + 500, packetsReceived: s.packetsReceived + expected - lost, packetsLost: s.packetsLost + lost, framesDecoded: s.framesDecoded + 15, roundTripMs: rtt };
    meter.add(s);
  }
  return s;
}

describe('link quality', () => {
  test('is unknown until two samples span some time', () => {
    const meter = new QualityMeter();
    expect(meter.quality()).toBeNull();
    meter.add({ at: 0, packetsReceived: 0, packetsLost: 0, framesDecoded: 0, roundTripMs: null });
    expect(meter.quality()).toBeNull();
  });

  test('a clean, near link is good', () => {
    const meter = new QualityMeter();
    steady(meter, 0, 3, 0, 12);
    expect(meter.quality()).toEqual({ level: 'good', lossPercent: 0, roundTripMs: 12, frozen: false });
  });

  test('a transcontinental link (70 ms, a percent or two lost) is good, a bad hotel fair, worse poor', () => {
    const meter = new QualityMeter();
    steady(meter, 0, 6, 2, 72);
    expect(meter.quality()).toMatchObject({ level: 'good', lossPercent: 2, roundTripMs: 72 });
    const hotel = new QualityMeter();
    steady(hotel, 0, 6, 6, 155);
    expect(hotel.quality()).toMatchObject({ level: 'fair', lossPercent: 6 });
    const worse = new QualityMeter();
    steady(worse, 0, 6, 12, 155);
    expect(worse.quality()?.level).toBe('poor');
    const satellite = new QualityMeter();
    steady(satellite, 0, 6, 0, 610);
    expect(satellite.quality()?.level).toBe('fair');
    const farther = new QualityMeter();
    steady(farther, 0, 6, 0, 900);
    expect(farther.quality()?.level).toBe('poor');
  });

  test('loss counts over the window only: a burst long past no longer shows', () => {
    const meter = new QualityMeter();
    const after = steady(meter, 0, 3, 20, 50);
    expect(meter.quality()?.level).toBe('poor');
    steady(meter, 0, QUALITY_WINDOW_MS / 1000 + 1, 0, 50, after);
    expect(meter.quality()).toMatchObject({ level: 'good', lossPercent: 0 });
  });

  test('a picture that stops advancing is frozen, and poor, however clean the counters', () => {
    const meter = new QualityMeter();
    const s = steady(meter, 0, 3, 0, 20);
    expect(meter.moving(s.at)).toBe(true);
    meter.add({ ...s, at: s.at + FROZEN_MS - 1, packetsReceived: s.packetsReceived + 200 });
    expect(meter.quality()?.frozen).toBe(false);
    meter.add({ ...s, at: s.at + FROZEN_MS, packetsReceived: s.packetsReceived + 400 });
    expect(meter.quality()).toMatchObject({ level: 'poor', frozen: true, lossPercent: 0 });
    expect(meter.moving(s.at + FROZEN_MS)).toBe(false);
    meter.add({ ...s, at: s.at + FROZEN_MS + 500, packetsReceived: s.packetsReceived + 500, framesDecoded: s.framesDecoded + 1 });
    expect(meter.quality()?.frozen).toBe(false);
  });

  test('a feed that never decoded a frame is not frozen (audio only, or not started)', () => {
    const meter = new QualityMeter();
    meter.add({ at: 0, packetsReceived: 0, packetsLost: 0, framesDecoded: 0, roundTripMs: 30 });
    meter.add({ at: 10_000, packetsReceived: 500, packetsLost: 0, framesDecoded: 0, roundTripMs: 30 });
    expect(meter.quality()).toMatchObject({ level: 'good', frozen: false });
    expect(meter.moving(10_000)).toBe(false);
  });

  test('counters that go back (a new peer connection) start the window over', () => {
    const meter = new QualityMeter();
    const s = steady(meter, 0, 2, 30, 40);
    meter.add({ at: s.at + 500, packetsReceived: 10, packetsLost: 0, framesDecoded: 5, roundTripMs: 40 });
    expect(meter.quality()).toBeNull();
    meter.add({ at: s.at + 1000, packetsReceived: 110, packetsLost: 0, framesDecoded: 20, roundTripMs: 40 });
    expect(meter.quality()).toMatchObject({ level: 'good', lossPercent: 0 });
  });

  test('a negative loss count (duplicates) reads as no loss', () => {
    const meter = new QualityMeter();
    meter.add({ at: 0, packetsReceived: 100, packetsLost: 3, framesDecoded: 10, roundTripMs: null });
    meter.add({ at: 1000, packetsReceived: 300, packetsLost: 1, framesDecoded: 40, roundTripMs: null });
    expect(meter.quality()).toEqual({ level: 'good', lossPercent: 0, roundTripMs: null, frozen: false });
  });

  test('the words give the figures', () => {
    expect(describeQuality({ level: 'fair', lossPercent: 4.5, roundTripMs: 152, frozen: false })).toBe(
      'Connection fair, 4.5% packets lost, 152 ms round trip',
    );
    expect(describeQuality({ level: 'poor', lossPercent: 0, roundTripMs: null, frozen: true })).toBe(
      'Connection poor, 0% packets lost, round trip not measured yet, picture frozen',
    );
    expect(qualityBadge({ level: 'fair', lossPercent: 4.5, roundTripMs: 152, frozen: false })).toBe('Fair · 152 ms · 4.5% lost');
    expect(qualityBadge({ level: 'poor', lossPercent: 0, roundTripMs: null, frozen: true })).toBe('Frozen · 0% lost');
  });
});
