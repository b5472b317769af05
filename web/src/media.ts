/**
 * Peer connections to Janus, through the server: one publisher for this device's camera and
 * microphone, one subscription per remote device. Every sender and receiver gets the DAVE worker
 * as its transform before any frame can flow.
 *
 * ICE: only the servers the server gave us in `ready` (Chromium has no default). Candidates go in
 * the SDP (we wait for gathering to complete), so no trickle is needed; Janus puts its own in its
 * answers and offers.
 *
 * The RTP audio-level header extension is never negotiated: it would tell the server who speaks.
 */

import type { E2eeManager } from './e2ee/manager';
import type { MediaKind } from './e2ee/messages';

/** Header extensions that carry audio levels in the clear. */
const AUDIO_LEVEL_EXTENSIONS = [
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'urn:ietf:params:rtp-hdrext:csrc-audio-level',
];

/** How long to wait for ICE gathering; host candidates take milliseconds, STUN/TURN a little longer. */
const ICE_GATHERING_TIMEOUT_MS = 5000;

/** Remove audio-level header extensions from an SDP (offer or answer). */
export function stripAudioLevel(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !(line.startsWith('a=extmap:') && AUDIO_LEVEL_EXTENSIONS.some((uri) => line.includes(uri))))
    .join('\r\n');
}

interface HeaderExtensionCapability {
  uri: string;
  direction: string;
}

/** Chromium's (spec'd) way to stop offering an extension; the SDP is stripped as well. */
function refuseAudioLevel(transceiver: RTCRtpTransceiver): void {
  const t = transceiver as RTCRtpTransceiver & {
    getHeaderExtensionsToNegotiate?: () => HeaderExtensionCapability[];
    setHeaderExtensionsToNegotiate?: (extensions: HeaderExtensionCapability[]) => void;
  };
  if (!t.getHeaderExtensionsToNegotiate || !t.setHeaderExtensionsToNegotiate) return;
  try {
    const extensions = t.getHeaderExtensionsToNegotiate().map((e) =>
      AUDIO_LEVEL_EXTENSIONS.includes(e.uri) ? { ...e, direction: 'stopped' } : e,
    );
    t.setHeaderExtensionsToNegotiate(extensions);
  } catch {
    // Older browsers: stripping the SDP is enough.
  }
}

/** Opus for audio, VP8 for video (DAVE's frame format in Parley covers these two). */
function preferCodecs(transceiver: RTCRtpTransceiver, kind: MediaKind): void {
  const wanted = kind === 'audio' ? 'audio/opus' : 'video/vp8';
  for (const capabilities of [RTCRtpSender.getCapabilities(kind), RTCRtpReceiver.getCapabilities(kind)]) {
    if (!capabilities) continue;
    const codecs = capabilities.codecs.filter((c) => {
      const mime = c.mimeType.toLowerCase();
      return mime === wanted || (kind === 'video' && mime === 'video/rtx');
    });
    if (!codecs.some((c) => c.mimeType.toLowerCase() === wanted)) continue;
    try {
      transceiver.setCodecPreferences(codecs);
      return;
    } catch {
      // try the other capability list
    }
  }
}

function waitForIceGathering(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      pc.removeEventListener('icegatheringstatechange', check);
      window.clearTimeout(timer);
      resolve();
    };
    const check = (): void => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = window.setTimeout(done, ICE_GATHERING_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function peerConnection(iceServers: RTCIceServer[]): RTCPeerConnection {
  return new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
}

export interface MediaStats {
  framesDecoded: number;
  audioSamplesReceived: number;
  /** Cumulative audio energy and duration: their deltas give the recent loudness. */
  audioEnergy: number;
  audioDuration: number;
  /** Cumulative RTP packets of both tracks, received and lost for good (quality.ts). */
  packetsReceived: number;
  packetsLost: number;
  /** The round trip (ms) of the ICE candidate pair in use; null before one is measured. */
  roundTripMs: number | null;
}

type StatsEntry = RTCInboundRtpStreamStats &
  RTCIceCandidatePairStats & { type: string; totalSamplesDuration?: number; selectedCandidatePairId?: string };

/** The candidate pair the transport selected (else the nominated one that succeeded), as a round trip in ms. */
function roundTripMs(report: RTCStatsReport): number | null {
  let selected: string | undefined;
  report.forEach((s: StatsEntry) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) selected = s.selectedCandidatePairId;
  });
  let rtt: number | null = null;
  report.forEach((s: StatsEntry) => {
    if (s.type !== 'candidate-pair' || s.currentRoundTripTime === undefined) return;
    if (selected !== undefined ? s.id === selected : s.nominated === true && s.state === 'succeeded') rtt = s.currentRoundTripTime * 1000;
  });
  return rtt;
}

/** Is the peer connection's path down (ICE lost the server, maybe for good)? */
export function pathDown(pc: RTCPeerConnection | null): boolean {
  return pc !== null && (pc.iceConnectionState === 'disconnected' || pc.iceConnectionState === 'failed');
}

/**
 * This device's audio and video, published through one peer connection. `audioOnly` (an
 * interpreter): no video transceiver at all, so the offer has no video section (the server
 * refuses an interpreter's video: `audio_only`).
 */
export class Publisher {
  readonly pc: RTCPeerConnection;
  private readonly audio: RTCRtpTransceiver;
  private readonly video: RTCRtpTransceiver | null;

  constructor(
    iceServers: RTCIceServer[],
    audio: MediaStreamTrack | null,
    video: MediaStreamTrack | null,
    e2ee: E2eeManager,
    userId: string,
    audioOnly = false,
  ) {
    this.pc = peerConnection(iceServers);
    this.audio = this.pc.addTransceiver(audio ?? 'audio', { direction: 'sendonly' });
    this.video = audioOnly ? null : this.pc.addTransceiver(video ?? 'video', { direction: 'sendonly' });
    const transceivers: [RTCRtpTransceiver, MediaKind][] = [[this.audio, 'audio']];
    if (this.video) transceivers.push([this.video, 'video']);
    for (const [transceiver, kind] of transceivers) {
      // Before the offer, so the transform is in place before the first frame is encoded.
      e2ee.encryptSender(transceiver.sender, userId, kind);
      preferCodecs(transceiver, kind);
      refuseAudioLevel(transceiver);
    }
  }

  /** The offer, with every candidate in it. */
  async offer(): Promise<string> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription({ type: 'offer', sdp: stripAudioLevel(offer.sdp ?? '') });
    await waitForIceGathering(this.pc);
    return stripAudioLevel(this.pc.localDescription?.sdp ?? '');
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  async replaceTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> {
    await (kind === 'audio' ? this.audio : this.video)?.sender.replaceTrack(track);
  }

  /** The local microphone level (0..1) as the sender sees it, for the speaker highlight. */
  async audioLevel(): Promise<{ energy: number; duration: number } | null> {
    const report = await this.pc.getStats(this.audio.sender.track ?? undefined);
    let result: { energy: number; duration: number } | null = null;
    report.forEach((s: { type: string; kind?: string; totalAudioEnergy?: number; totalSamplesDuration?: number }) => {
      if (s.type === 'media-source' && s.kind === 'audio') {
        result = { energy: s.totalAudioEnergy ?? 0, duration: s.totalSamplesDuration ?? 0 };
      }
    });
    return result;
  }

  /** Key frames the video encoder made so far (each new key and subscription asks for one). */
  async keyFramesSent(): Promise<number> {
    let count = 0;
    (await this.pc.getStats()).forEach((s: { type: string; kind?: string; keyFramesEncoded?: number }) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') count += s.keyFramesEncoded ?? 0;
    });
    return count;
  }

  close(): void {
    this.pc.close();
  }
}

/** What this device receives from one other device. */
export class Subscription {
  readonly stream = new MediaStream();
  pc: RTCPeerConnection | null = null;

  constructor(
    readonly feed: string,
    private readonly iceServers: RTCIceServer[],
    private readonly e2ee: E2eeManager,
  ) {}

  /** Janus's offer in, our answer (with candidates) out. Decryption is attached before any frame flows. */
  async answer(offer: string): Promise<string> {
    this.pc?.close();
    for (const track of this.stream.getTracks()) this.stream.removeTrack(track);
    const pc = peerConnection(this.iceServers);
    this.pc = pc;
    pc.ontrack = (event) => {
      if (!this.stream.getTracks().includes(event.track)) this.stream.addTrack(event.track);
    };
    await pc.setRemoteDescription({ type: 'offer', sdp: stripAudioLevel(offer) });
    for (const transceiver of pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind === 'audio' ? 'audio' : 'video';
      this.e2ee.decryptReceiver(transceiver.receiver, this.feed, kind);
      transceiver.direction = 'recvonly';
      refuseAudioLevel(transceiver);
    }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription({ type: 'answer', sdp: stripAudioLevel(answer.sdp ?? '') });
    await waitForIceGathering(pc);
    return stripAudioLevel(pc.localDescription?.sdp ?? '');
  }

  async stats(): Promise<MediaStats> {
    const stats: MediaStats = {
      framesDecoded: 0,
      audioSamplesReceived: 0,
      audioEnergy: 0,
      audioDuration: 0,
      packetsReceived: 0,
      packetsLost: 0,
      roundTripMs: null,
    };
    if (!this.pc) return stats;
    const report = await this.pc.getStats();
    stats.roundTripMs = roundTripMs(report);
    report.forEach((s: StatsEntry) => {
      if (s.type !== 'inbound-rtp') return;
      stats.packetsReceived += s.packetsReceived ?? 0;
      stats.packetsLost += s.packetsLost ?? 0;
      if (s.kind === 'video') stats.framesDecoded += s.framesDecoded ?? 0;
      if (s.kind === 'audio') {
        stats.audioSamplesReceived += s.totalSamplesReceived ?? 0;
        stats.audioEnergy += s.totalAudioEnergy ?? 0;
        stats.audioDuration += s.totalSamplesDuration ?? 0;
      }
    });
    return stats;
  }

  close(): void {
    this.pc?.close();
    this.pc = null;
    for (const track of this.stream.getTracks()) track.stop();
  }
}
