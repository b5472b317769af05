/**
 * Reading sound: the level (RMS) for the console's meters, and the dominant frequency of what a
 * device really hears, for tests (`ear` in `window.parley.state()`), from WebAudio AnalyserNodes.
 */

/** Root mean square of samples in [-1, 1]. */
export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const v of samples) sum += v * v;
  return Math.sqrt(sum / samples.length);
}

/**
 * The strongest frequency (Hz) of a magnitude spectrum (linear, bins 0..fftSize/2), with
 * parabolic interpolation over the log magnitudes around the peak (as
 * `parley.media.sources.dominant_frequency` does); null for silence.
 */
export function peakFrequency(magnitudes: Float32Array, sampleRate: number, fftSize: number): number | null {
  let peak = 0;
  for (let i = 1; i < magnitudes.length; i++) if ((magnitudes[i] ?? 0) > (magnitudes[peak] ?? 0)) peak = i;
  if (peak === 0 || (magnitudes[peak] ?? 0) <= 0) return null;
  let offset = 0;
  if (peak + 1 < magnitudes.length) {
    const a = Math.log((magnitudes[peak - 1] ?? 0) + 1e-12);
    const b = Math.log((magnitudes[peak] ?? 0) + 1e-12);
    const c = Math.log((magnitudes[peak + 1] ?? 0) + 1e-12);
    const denominator = a - 2 * b + c;
    if (denominator !== 0) offset = (0.5 * (a - c)) / denominator;
  }
  return ((peak + offset) * sampleRate) / fftSize;
}

/** The level (0..1, RMS) an AnalyserNode hears now; for meters, read once per animation frame. */
export class LevelMeter {
  private readonly samples: Float32Array<ArrayBuffer>;

  constructor(private readonly analyser: AnalyserNode) {
    this.samples = new Float32Array(analyser.fftSize);
  }

  level(): number {
    this.analyser.getFloatTimeDomainData(this.samples);
    return rms(this.samples);
  }
}

/** How often the ear takes a spectrum, and how many it averages: the last second or so. */
const EAR_PERIOD_MS = 100;
const EAR_SPECTRA = 10;
/** Below this RMS the mix counts as silence (no dominant frequency). */
const EAR_SILENCE = 1e-4;

export interface EarReading {
  /** The strongest frequency over the last second; null in silence. */
  dominantHz: number | null;
  /** RMS of the last analysis window (0..1). */
  level: number;
}

/**
 * What the listener really hears: an AnalyserNode on the master mix, sampled every 100 ms; the
 * spectra of the last second are averaged (linear magnitudes) before the peak is picked, so a
 * single frame of packet loss does not flip the answer. Test hooks only: it costs an FFT per tick.
 */
export class EarProbe {
  private readonly spectra: Float32Array<ArrayBuffer>[] = [];
  private readonly db: Float32Array<ArrayBuffer>;
  private readonly meter: LevelMeter;
  private lastLevel = 0;
  private readonly timer: number;

  constructor(private readonly analyser: AnalyserNode) {
    this.db = new Float32Array(analyser.frequencyBinCount);
    this.meter = new LevelMeter(analyser);
    this.timer = window.setInterval(() => this.sample(), EAR_PERIOD_MS);
  }

  private sample(): void {
    this.analyser.getFloatFrequencyData(this.db);
    const linear = new Float32Array(this.db.length);
    for (let i = 0; i < this.db.length; i++) {
      const value = this.db[i] ?? -Infinity;
      linear[i] = Number.isFinite(value) ? 10 ** (value / 20) : 0;
    }
    this.spectra.push(linear);
    if (this.spectra.length > EAR_SPECTRA) this.spectra.shift();
    this.lastLevel = this.meter.level();
  }

  reading(): EarReading {
    if (this.spectra.length === 0 || this.lastLevel < EAR_SILENCE) return { dominantHz: null, level: this.lastLevel };
    const sum = new Float32Array(this.db.length);
    for (const spectrum of this.spectra) for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] ?? 0) + (spectrum[i] ?? 0);
    const hz = peakFrequency(sum, this.analyser.context.sampleRate, this.analyser.fftSize);
    return { dominantHz: hz === null ? null : Math.round(hz * 10) / 10, level: this.lastLevel };
  }

  stop(): void {
    window.clearInterval(this.timer);
  }
}
