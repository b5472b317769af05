/**
 * How well this device receives another: the link quality a tile shows, from the counters of the
 * subscription's `getStats()` (sans-IO: samples and time are passed in, so it is tested with
 * numbers alone).
 *
 * Each sample holds cumulative counters: RTP packets received and lost (over the feed's audio and
 * video, after retransmission has recovered what it could), video frames decoded, and the round
 * trip of the ICE candidate pair in use. Loss is over the last `QUALITY_WINDOW_MS` (a single lost
 * packet must not flip the label back and forth each second); "frozen" is a picture that has
 * decoded before and has not advanced for `FROZEN_MS`. Frozen is always poor: that is what a person
 * sees, whatever the counters say.
 */

export const QUALITY_WINDOW_MS = 5000;
export const FROZEN_MS = 2500;
/** Loss (percent) and round trip (ms) up to which a link is good, then fair; beyond, poor. */
export const GOOD = { lossPercent: 2, roundTripMs: 250 } as const;
export const FAIR = { lossPercent: 8, roundTripMs: 700 } as const;

export interface LinkSample {
  /** When it was read (ms, any monotonic clock). */
  at: number;
  packetsReceived: number;
  packetsLost: number;
  framesDecoded: number;
  /** The candidate pair's current round trip (ms); null before ICE has measured one. */
  roundTripMs: number | null;
}

export type QualityLevel = 'good' | 'fair' | 'poor';

export interface LinkQuality {
  level: QualityLevel;
  /** Lost share of the packets expected over the window, in percent (one decimal). */
  lossPercent: number;
  roundTripMs: number | null;
  frozen: boolean;
}

export const LEVEL_TEXT: Record<QualityLevel, string> = { good: 'Good', fair: 'Fair', poor: 'Poor' };

/** A person's words for the figures, for the tile's tooltip and its accessible name. */
export function describeQuality(q: LinkQuality): string {
  const parts = [`Connection ${LEVEL_TEXT[q.level].toLowerCase()}`, `${q.lossPercent}% packets lost`];
  parts.push(q.roundTripMs === null ? 'round trip not measured yet' : `${q.roundTripMs} ms round trip`);
  if (q.frozen) parts.push('picture frozen');
  return parts.join(', ');
}

/** The tile's short form: the word, then the round trip and the loss ("Fair · 152 ms · 4.5% lost"). */
export function qualityBadge(q: LinkQuality): string {
  const parts = [q.frozen ? 'Frozen' : LEVEL_TEXT[q.level]];
  if (q.roundTripMs !== null) parts.push(`${q.roundTripMs} ms`);
  parts.push(`${q.lossPercent}% lost`);
  return parts.join(' · ');
}

/** One feed's samples over the window, and when its picture last advanced. */
export class QualityMeter {
  private samples: LinkSample[] = [];
  private lastAdvance: { frames: number; at: number } | null = null;

  constructor(private readonly windowMs = QUALITY_WINDOW_MS) {}

  add(sample: LinkSample): void {
    const last = this.samples[this.samples.length - 1];
    // Counters that went back belong to a new peer connection (a re-subscription): start over.
    if (last && (sample.packetsReceived < last.packetsReceived || sample.framesDecoded < last.framesDecoded)) {
      this.samples = [];
      this.lastAdvance = null;
    }
    this.samples.push(sample);
    while (this.samples.length > 2 && sample.at - (this.samples[1]?.at ?? sample.at) >= this.windowMs) this.samples.shift();
    if (this.lastAdvance === null || sample.framesDecoded > this.lastAdvance.frames) {
      this.lastAdvance = { frames: sample.framesDecoded, at: sample.at };
    }
  }

  /** Has the picture decoded before and advanced within `FROZEN_MS` of `now`? (The tile shows it, or "No picture".) */
  moving(now: number): boolean {
    return this.lastAdvance !== null && this.lastAdvance.frames > 0 && now - this.lastAdvance.at < FROZEN_MS;
  }

  /** The quality as of the newest sample; null until two samples span some time. */
  quality(): LinkQuality | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at <= first.at) return null;
    const received = Math.max(0, last.packetsReceived - first.packetsReceived);
    const lost = Math.max(0, last.packetsLost - first.packetsLost); // duplicates can lower the count
    const lossPercent = received + lost === 0 ? 0 : Math.round((1000 * lost) / (received + lost)) / 10;
    const roundTripMs = last.roundTripMs === null ? null : Math.round(last.roundTripMs);
    const frozen = this.lastAdvance !== null && this.lastAdvance.frames > 0 && !this.moving(last.at);
    return { level: levelOf(lossPercent, roundTripMs, frozen), lossPercent, roundTripMs, frozen };
  }
}

function levelOf(lossPercent: number, roundTripMs: number | null, frozen: boolean): QualityLevel {
  const rtt = roundTripMs ?? 0;
  if (frozen || lossPercent > FAIR.lossPercent || rtt > FAIR.roundTripMs) return 'poor';
  if (lossPercent > GOOD.lossPercent || rtt > GOOD.roundTripMs) return 'fair';
  return 'good';
}
