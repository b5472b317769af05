/**
 * The one place a device's sound is played: every remote audio track goes
 * MediaStreamAudioSourceNode → its own GainNode → the master gain → an analyser (the ear) → the
 * speakers, in one AudioContext. The gains are `gainOf` (channels.ts): the floor turned down
 * under a live channel, off for an interpreter on relay. Tiles' <video> elements are muted, so
 * nothing plays twice.
 *
 * Chromium only feeds a remote WebRTC track into WebAudio while the track is also attached to a
 * media element; each input therefore keeps a muted, detached <audio> element playing it.
 */

/** Gain changes glide over about this long (s): no click when the floor ducks under a channel. */
const GAIN_TIME_CONSTANT_S = 0.03;
/** The ear: 8192 samples at 48 kHz is 170 ms and 5.9 Hz per bin. */
const EAR_FFT_SIZE = 8192;

interface Input {
  track: MediaStreamTrack;
  element: HTMLAudioElement;
  source: MediaStreamAudioSourceNode;
  gain: GainNode;
  /** The gain asked for (the node glides towards it). */
  target: number;
}

export class Mixer {
  readonly context: AudioContext;
  /** An analyser on the master mix: what this device's speakers play. */
  readonly ear: AnalyserNode;
  private readonly master: GainNode;
  private readonly inputs = new Map<string, Input>();
  private closed = false;
  private readonly resume = (): void => {
    if (!this.closed && this.context.state === 'suspended') void this.context.resume();
  };

  /** Create it in a user gesture (the Join click), or the browser may keep it suspended. */
  constructor(onStateChange: () => void) {
    this.context = new AudioContext();
    this.master = this.context.createGain();
    this.ear = this.context.createAnalyser();
    this.ear.fftSize = EAR_FFT_SIZE;
    this.ear.smoothingTimeConstant = 0;
    this.master.connect(this.ear);
    this.ear.connect(this.context.destination);
    this.context.onstatechange = onStateChange;
    // A browser that blocked autoplay lets the sound start at the next click or key.
    document.addEventListener('pointerdown', this.resume);
    document.addEventListener('keydown', this.resume);
    this.resume();
  }

  /** Is sound coming out (false: the browser holds it until the page is clicked)? */
  get running(): boolean {
    return this.context.state === 'running';
  }

  /** Play this feed's audio track at `gain`; the same track again only sets the gain. */
  attach(feed: string, track: MediaStreamTrack, gain: number): void {
    if (this.closed) return;
    const current = this.inputs.get(feed);
    if (current?.track === track) {
      this.setGain(feed, gain);
      return;
    }
    this.detach(feed);
    const stream = new MediaStream([track]);
    const element = new Audio();
    element.muted = true; // only there to make the track flow into WebAudio (see above)
    element.srcObject = stream;
    element.play().catch(() => undefined); // muted playback is always allowed; nothing is heard from it
    const source = this.context.createMediaStreamSource(stream);
    const node = this.context.createGain();
    node.gain.value = gain;
    source.connect(node);
    node.connect(this.master);
    this.inputs.set(feed, { track, element, source, gain: node, target: gain });
  }

  setGain(feed: string, gain: number): void {
    const input = this.inputs.get(feed);
    if (!input || input.target === gain) return;
    input.target = gain;
    input.gain.gain.setTargetAtTime(gain, this.context.currentTime, GAIN_TIME_CONSTANT_S);
  }

  has(feed: string): boolean {
    return this.inputs.has(feed);
  }

  feeds(): string[] {
    return [...this.inputs.keys()];
  }

  /** Each feed's gain, as asked for (tests read it). */
  gains(): Record<string, number> {
    return Object.fromEntries([...this.inputs].map(([feed, input]) => [feed, input.target]));
  }

  detach(feed: string): void {
    const input = this.inputs.get(feed);
    if (!input) return;
    this.inputs.delete(feed);
    input.source.disconnect();
    input.gain.disconnect();
    input.element.pause();
    input.element.srcObject = null;
  }

  detachAll(): void {
    for (const feed of this.inputs.keys()) this.detach(feed); // deleting the current key is safe in a Map's iteration
  }

  close(): void {
    if (this.closed) return;
    this.detachAll();
    this.closed = true;
    document.removeEventListener('pointerdown', this.resume);
    document.removeEventListener('keydown', this.resume);
    this.context.onstatechange = null;
    void this.context.close();
  }
}
