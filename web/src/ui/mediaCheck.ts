/**
 * The join page's camera and microphone check: preview, device choice, microphone level. For a
 * microphone-only device (an interpreter) there is no preview and no camera choice.
 */

import { LocalMedia } from '../localMedia';
import { clear, h } from './dom';

export interface MediaCheck {
  /** The preview column (video, level meter, camera and microphone choice). */
  el: HTMLElement;
  /** Where the page shows what went wrong with the camera or microphone. */
  error: HTMLElement;
  /** Open the chosen camera and microphone (asks the browser's permission). */
  open(): Promise<void>;
  dispose(): void;
}

export function mediaCheck(media: LocalMedia): MediaCheck {
  // -- preview, device choice, microphone level --------------------------------------------
  const preview = h('video', { class: 'preview-video mirror', attrs: { 'aria-label': 'Your camera' } });
  preview.muted = true;
  preview.autoplay = true;
  preview.playsInline = true;
  preview.srcObject = media.stream;
  const levelBar = h('span', { class: 'level-fill' });
  const level = h('div', { class: 'level', title: 'Microphone level', attrs: { role: 'meter', 'aria-label': 'Microphone level' } }, levelBar);
  const cameraSelect = h('select', { testid: 'camera-select', attrs: { 'aria-label': 'Camera' } });
  const micSelect = h('select', { testid: 'mic-select', attrs: { 'aria-label': 'Microphone' } });
  const mediaError = h('p', { class: 'media-error', testid: 'media-error', attrs: { role: 'status' } });

  let audio: { context: AudioContext; source: MediaStreamAudioSourceNode; analyser: AnalyserNode } | null = null;
  let meterFrame = 0;
  const startMeter = (): void => {
    audio?.source.disconnect();
    const track = media.audioTrack;
    if (!track) return;
    const context = audio?.context ?? new AudioContext();
    const analyser = audio?.analyser ?? context.createAnalyser();
    analyser.fftSize = 512;
    const source = context.createMediaStreamSource(new MediaStream([track]));
    source.connect(analyser);
    audio = { context, source, analyser };
  };
  const samples = new Float32Array(512);
  const drawMeter = (): void => {
    meterFrame = requestAnimationFrame(drawMeter);
    if (!audio) return;
    audio.analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    const rms = Math.sqrt(sum / samples.length);
    levelBar.style.width = `${Math.min(100, Math.round(rms * 400))}%`;
  };
  drawMeter();
  const resume = (): void => void audio?.context.resume();
  document.addEventListener('pointerdown', resume);
  document.addEventListener('keydown', resume);

  const fillSelect = (select: HTMLSelectElement, devices: MediaDeviceInfo[], chosen: string | null, noun: string): void => {
    clear(select);
    if (devices.length === 0) select.append(h('option', { text: `No ${noun} found`, attrs: { value: '' } }));
    devices.forEach((d, i) => {
      const option = h('option', { text: d.label || `${noun[0]?.toUpperCase()}${noun.slice(1)} ${i + 1}`, attrs: { value: d.deviceId } });
      option.selected = d.deviceId === chosen;
      select.append(option);
    });
    select.disabled = devices.length === 0;
  };
  const refreshDevices = async (): Promise<void> => {
    const devices = await LocalMedia.devices();
    fillSelect(cameraSelect, devices.video, media.choice.videoId, 'camera');
    fillSelect(micSelect, devices.audio, media.choice.audioId, 'microphone');
  };
  const openMedia = async (): Promise<void> => {
    await media.open({ audioId: micSelect.value || media.choice.audioId, videoId: media.audioOnly ? null : cameraSelect.value || media.choice.videoId });
    mediaError.textContent = media.error ?? '';
    preview.srcObject = media.stream;
    startMeter();
    await refreshDevices();
  };
  cameraSelect.addEventListener('change', () => void openMedia());
  micSelect.addEventListener('change', () => void openMedia());
  navigator.mediaDevices.addEventListener('devicechange', () => void refreshDevices());


  const audioOnly = media.audioOnly;
  const el = h(
    'div',
    { class: `preview${audioOnly ? ' audio-only' : ''}` },
    audioOnly
      ? h('p', { class: 'hint', testid: 'mic-only-note', text: 'Microphone only: Parley does not ask for a camera here. Speak to see the level move.' })
      : preview,
    level,
    audioOnly ? null : h('label', { class: 'device' }, h('span', { text: 'Camera' }), cameraSelect),
    h('label', { class: 'device' }, h('span', { text: 'Microphone' }), micSelect),
  );
  return {
    el,
    error: mediaError,
    open: openMedia,
    dispose: () => {
      cancelAnimationFrame(meterFrame);
      document.removeEventListener('pointerdown', resume);
      document.removeEventListener('keydown', resume);
      audio?.source.disconnect();
      void audio?.context.close();
    },
  };
}
