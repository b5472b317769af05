/** The join page: what the invitation admits to, who is at this device, camera and microphone check. */

import type { InvitationInfo } from '../api';
import { LocalMedia } from '../localMedia';
import { MAX_NAME, MAX_PEOPLE } from '../people';
import { clear, h } from './dom';
import { formatRole, formatSchedule } from './format';

const PEOPLE_KEY = 'parley.people';

export interface JoinPageOptions {
  info: InvitationInfo;
  media: LocalMedia;
  onJoin(people: string[]): void;
}

function savedPeople(): string[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(PEOPLE_KEY) ?? '[]');
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string').slice(0, MAX_PEOPLE);
  } catch {
    // nothing saved
  }
  return [];
}

export function renderJoinPage(root: HTMLElement, options: JoinPageOptions): () => void {
  const { info, media } = options;
  const when = formatSchedule(info.scheduled_start, info.duration_minutes);
  clear(root);

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
    await media.open({ audioId: micSelect.value || media.choice.audioId, videoId: cameraSelect.value || media.choice.videoId });
    mediaError.textContent = media.error ?? '';
    preview.srcObject = media.stream;
    startMeter();
    await refreshDevices();
  };
  cameraSelect.addEventListener('change', () => void openMedia());
  micSelect.addEventListener('change', () => void openMedia());
  navigator.mediaDevices.addEventListener('devicechange', () => void refreshDevices());

  // -- people at this device -----------------------------------------------------------------
  const list = h('ol', { class: 'people-list' });
  const addButton = h('button', { class: 'link-button', testid: 'add-name', text: '+ Add a person', attrs: { type: 'button' } });
  const joinButton = h('button', { class: 'primary big', testid: 'join-button', text: 'Join the summit', attrs: { type: 'submit' } });
  const names = (): string[] =>
    [...list.querySelectorAll('input')].map((input) => input.value.trim()).filter((name) => name.length > 0);
  const update = (): void => {
    const rows = list.querySelectorAll('li');
    joinButton.disabled = names().length === 0;
    addButton.disabled = rows.length >= MAX_PEOPLE;
    rows.forEach((row) => {
      const remove = row.querySelector('button');
      if (remove) remove.hidden = rows.length === 1;
    });
  };
  const addRow = (value = '', focus = false): void => {
    const input = h('input', {
      testid: 'name-input',
      attrs: { type: 'text', maxlength: String(MAX_NAME), autocomplete: 'name', placeholder: 'Full name', 'aria-label': 'Name of a person at this device' },
      on: { input: update },
    });
    input.value = value;
    const row = h(
      'li',
      {},
      input,
      h('button', {
        class: 'icon-button',
        testid: 'remove-name',
        text: '✕',
        title: 'Remove this person',
        attrs: { type: 'button', 'aria-label': 'Remove this person' },
        on: {
          click: () => {
            row.remove();
            update();
          },
        },
      }),
    );
    list.append(row);
    if (focus) input.focus();
    update();
  };
  addButton.addEventListener('click', () => addRow('', true));
  const initial = savedPeople();
  if (initial.length === 0) addRow();
  for (const name of initial) addRow(name);

  const form = h(
    'form',
    {
      class: 'join-form',
      on: {
        submit: (event) => {
          event.preventDefault();
          const people = names();
          if (people.length === 0) return;
          localStorage.setItem(PEOPLE_KEY, JSON.stringify(people));
          joinButton.disabled = true;
          joinButton.textContent = 'Joining…';
          options.onJoin(people);
        },
      },
    },
    h(
      'fieldset',
      { class: 'people' },
      h('legend', { text: 'Who is at this device?' }),
      h('p', { class: 'hint', text: 'Everyone in the room with this screen, so the others know who is listening.' }),
      list,
      addButton,
    ),
    mediaError,
    joinButton,
    h('p', {
      class: 'note',
      text: 'Audio and video are end-to-end encrypted: the Parley server relays them but cannot see or hear them.',
    }),
  );

  root.append(
    h(
      'main',
      { class: 'join' },
      h('header', { class: 'brand' }, h('span', { class: 'brand-mark', text: 'Parley' })),
      h(
        'section',
        { class: 'card join-card' },
        h('h1', { class: 'summit-title', testid: 'summit-title', text: info.summit }),
        h(
          'dl',
          { class: 'facts' },
          h('div', {}, h('dt', { text: 'Delegation' }), h('dd', { testid: 'delegation', text: info.delegation })),
          h('div', {}, h('dt', { text: 'Role' }), h('dd', { testid: 'role', text: formatRole(info.role) })),
          h('div', {}, h('dt', { text: 'When' }), h('dd', { testid: 'schedule' }, when.date, h('br'), when.time)),
        ),
        h(
          'div',
          { class: 'join-grid' },
          h(
            'div',
            { class: 'preview' },
            preview,
            level,
            h('label', { class: 'device' }, h('span', { text: 'Camera' }), cameraSelect),
            h('label', { class: 'device' }, h('span', { text: 'Microphone' }), micSelect),
          ),
          form,
        ),
      ),
    ),
  );
  void openMedia();

  return () => {
    cancelAnimationFrame(meterFrame);
    document.removeEventListener('pointerdown', resume);
    document.removeEventListener('keydown', resume);
    audio?.source.disconnect();
    void audio?.context.close();
  };
}
