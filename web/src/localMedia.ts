/**
 * This device's camera and microphone: device choice, preview, mute and camera off. An
 * interpreter's device is microphone only: it never asks for a camera.
 */

export interface DeviceChoice {
  audioId: string | null;
  videoId: string | null;
}

export interface VideoShape {
  width: number;
  height: number;
  frameRate: number;
}

/** Calm defaults for a room camera; tests ask for less (`?testSmallVideo=1`). */
export const ROOM_VIDEO: VideoShape = { width: 1280, height: 720, frameRate: 30 };
export const SMALL_VIDEO: VideoShape = { width: 320, height: 240, frameRate: 15 };

function videoConstraints(deviceId: string | null, shape: VideoShape): MediaTrackConstraints {
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    width: { ideal: shape.width },
    height: { ideal: shape.height },
    frameRate: { ideal: shape.frameRate },
  };
}

function audioConstraints(deviceId: string | null): MediaTrackConstraints {
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
  };
}

export class LocalMedia {
  /** What the preview and the self tile show. Tracks come and go (camera off); the stream stays. */
  readonly stream = new MediaStream();
  error: string | null = null;
  private micOn = true;
  private cameraOn: boolean;

  /** `shape` null: microphone only (an interpreter), the camera is never opened. */
  constructor(
    public choice: DeviceChoice,
    private readonly shape: VideoShape | null,
  ) {
    this.cameraOn = shape !== null;
  }

  /** Microphone only: no camera is asked for, none can be turned on. */
  get audioOnly(): boolean {
    return this.shape === null;
  }

  get audioTrack(): MediaStreamTrack | null {
    return this.stream.getAudioTracks()[0] ?? null;
  }

  get videoTrack(): MediaStreamTrack | null {
    return this.stream.getVideoTracks()[0] ?? null;
  }

  get micEnabled(): boolean {
    return this.micOn;
  }

  get cameraEnabled(): boolean {
    return this.cameraOn;
  }

  /** Open (or reopen, after a device change) the chosen camera and microphone. */
  async open(choice: DeviceChoice = this.choice): Promise<void> {
    this.choice = choice;
    this.stopTracks();
    this.error = null;
    try {
      const media = await navigator.mediaDevices.getUserMedia({
        audio: audioConstraints(choice.audioId),
        video: this.cameraOn && this.shape ? videoConstraints(choice.videoId, this.shape) : false,
      });
      for (const track of media.getTracks()) this.stream.addTrack(track);
    } catch (err) {
      // Try each kind alone: a room may have a microphone but no camera, or the reverse.
      const reasons: string[] = [err instanceof Error ? err.name : String(err)];
      for (const kind of ['audio', 'video'] as const) {
        const shape = this.shape;
        if (kind === 'video' && (!this.cameraOn || shape === null)) continue;
        try {
          const media = await navigator.mediaDevices.getUserMedia(
            kind === 'audio' || shape === null ? { audio: audioConstraints(choice.audioId) } : { video: videoConstraints(choice.videoId, shape) },
          );
          for (const track of media.getTracks()) this.stream.addTrack(track);
        } catch (e) {
          reasons.push(e instanceof Error ? e.name : String(e));
        }
      }
      if (!this.audioTrack || (this.cameraOn && !this.videoTrack)) this.error = describeMediaError(reasons, !!this.audioTrack, !!this.videoTrack);
    }
    const audio = this.audioTrack;
    if (audio) audio.enabled = this.micOn;
    const video = this.videoTrack;
    if (video) this.choice.videoId = video.getSettings().deviceId ?? this.choice.videoId;
    if (audio) this.choice.audioId = audio.getSettings().deviceId ?? this.choice.audioId;
  }

  /** Cameras and microphones, labelled once permission has been given. */
  static async devices(): Promise<{ audio: MediaDeviceInfo[]; video: MediaDeviceInfo[] }> {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      audio: all.filter((d) => d.kind === 'audioinput' && d.deviceId),
      video: all.filter((d) => d.kind === 'videoinput' && d.deviceId),
    };
  }

  setMicEnabled(on: boolean): void {
    this.micOn = on;
    const audio = this.audioTrack;
    if (audio) audio.enabled = on;
  }

  /** Camera off releases the camera (its light goes out); on opens it again. Returns the new track. */
  async setCameraEnabled(on: boolean): Promise<MediaStreamTrack | null> {
    if (this.shape === null) return null;
    this.cameraOn = on;
    const current = this.videoTrack;
    if (!on) {
      if (current) {
        current.stop();
        this.stream.removeTrack(current);
      }
      return null;
    }
    if (current) return current;
    const media = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(this.choice.videoId, this.shape) });
    const track = media.getVideoTracks()[0] ?? null;
    if (track) this.stream.addTrack(track);
    return track;
  }

  private stopTracks(): void {
    for (const track of this.stream.getTracks()) {
      track.stop();
      this.stream.removeTrack(track);
    }
  }

  stop(): void {
    this.stopTracks();
  }
}

function describeMediaError(reasons: string[], haveAudio: boolean, haveVideo: boolean): string {
  const denied = reasons.some((r) => r === 'NotAllowedError' || r === 'SecurityError');
  const missing = !haveAudio && !haveVideo ? 'camera and microphone' : !haveAudio ? 'microphone' : 'camera';
  return denied
    ? `The browser did not allow the ${missing}. Allow it in the address bar, or join without it.`
    : `No ${missing} could be opened. Check it is connected and not used by another program, or join without it.`;
}
