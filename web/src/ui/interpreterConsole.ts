/**
 * The interpreter's console, beside the floor's tiles on an interpreter's device: its booth's
 * language and the ON AIR light; Take over, Hand over and the cough key (of Take over and Hand
 * over, the one that applies now is the primary button, the other plainly disabled) and a status
 * line saying where this device stands; who is in the booth, who is live, handed over or coughing;
 * the server's refusals; what it hears (the floor, or relay from another language, never its own);
 * level meters for its microphone and for what it hears. Compact: all of it fits beside the tiles
 * in a 1280x800 window.
 *
 * The cough key: a short press latches it (press again to release), holding it mutes only while
 * held. Either way the microphone track is disabled at once and, while live, the server is told.
 */

import type { Call } from '../call';
import { LevelMeter } from '../interpretation/analysis';
import type { AirState, BoothSituation } from '../interpretation/booth';
import type { Channel } from '../interpretation/channels';
import { clear, h, setText } from './dom';
import { channelFromValue, fillChannels } from './channelBar';
import { languageName } from './format';
import { icon } from './icons';

/** A press of the cough key longer than this is "hold to mute" (released: unmuted); shorter latches. */
const HOLD_MS = 400;
/** Meters show RMS scaled so speech fills most of the bar. */
const METER_SCALE = 400;

const AIR_TEXT: Record<AirState, string> = {
  off: 'Off air',
  live: 'ON AIR',
  muted: 'ON AIR · muted',
  handing_over: 'ON AIR · handed over',
};

/** The status line under the booth controls: where this device stands and what it can do now. */
const STATUS_TEXT: Readonly<Record<BoothSituation, (live: string) => string>> = {
  unknown: () => 'Waiting for the booth’s state from the server…',
  idle: () => 'Nobody is live: take over to go on air.',
  other_live: (live) => `${live} is live until they hand over.`,
  other_handing_over: (live) => `${live} handed over: take over now.`,
  self_live: () => 'You are live. Hand over when you are done.',
  self_handing_over: () => 'Waiting for a booth mate to take over.',
};

const TAKE_OVER_TITLE: Record<BoothSituation, string> = {
  unknown: 'Waiting for the booth’s state',
  idle: 'Go live in this booth',
  other_live: 'A booth mate is live: wait until they hand over',
  other_handing_over: 'Go live: your booth mate handed over',
  self_live: 'You are live',
  self_handing_over: 'You are live, waiting for a booth mate to take over',
};

export interface InterpreterConsole {
  el: HTMLElement;
  update(): void;
  dispose(): void;
}

/** A level meter: `label` on screen (short: two meters share a row), `name` for screen readers. */
function meter(testid: string, label: string, name: string): { el: HTMLElement; set(level: number): void } {
  const fill = h('span', { class: 'level-fill' });
  const bar = h('div', { class: 'level', testid, attrs: { role: 'meter', 'aria-label': name, 'aria-valuemin': '0', 'aria-valuemax': '100' } }, fill);
  return {
    el: h('div', { class: 'console-meter', title: name }, h('span', { class: 'console-label', text: label }), bar),
    set(level: number) {
      const percent = Math.min(100, Math.round(level * METER_SCALE));
      fill.style.width = `${percent}%`;
      bar.setAttribute('aria-valuenow', String(percent));
    },
  };
}

export function interpreterConsole(call: Call): InterpreterConsole {
  const language = h('strong', { class: 'console-language', testid: 'console-language' });
  const airText = h('span', {});
  const onAir = h('div', { class: 'on-air', testid: 'on-air', attrs: { role: 'status', 'aria-live': 'polite' } }, icon('onAir'), airText);

  // -- what it hears ---------------------------------------------------------------------------
  const source = h('select', { testid: 'source-select', attrs: { 'aria-label': 'You interpret from', id: 'interpreter-source' } });
  source.addEventListener('change', () => call.listen(channelFromValue(source.value)));
  const sourceWarning = h('p', { class: 'console-warning', testid: 'source-warning', attrs: { role: 'status' } });

  // -- meters --------------------------------------------------------------------------------
  const micMeter = meter('mic-meter', 'Your mic', 'Your microphone');
  const heardMeter = meter('source-meter', 'You hear', 'What you hear');

  // -- booth controls ------------------------------------------------------------------------
  // The call to action is the primary button; the other one looks plainly disabled.
  const takeOver = h('button', { testid: 'take-over-button', text: 'Take over', attrs: { type: 'button' } });
  const handOver = h('button', { testid: 'hand-over-button', text: 'Hand over', attrs: { type: 'button' } });
  const cough = h('button', {
    class: 'cough',
    testid: 'cough-button',
    title: 'Hold to mute while held; a short press mutes until the next press',
    attrs: { type: 'button', 'aria-pressed': 'false' },
  });
  const status = h('p', { class: 'console-status', testid: 'booth-status', attrs: { role: 'status', 'aria-live': 'polite' } });
  takeOver.addEventListener('click', () => call.takeOver());
  handOver.addEventListener('click', () => call.handOver());

  let pressedAt: number | null = null;
  let wasDown = false;
  const press = (): void => {
    if (pressedAt !== null) return;
    pressedAt = performance.now();
    wasDown = call.listening.coughing;
    if (!wasDown) call.setCough(true);
  };
  const release = (): void => {
    if (pressedAt === null) return;
    const held = performance.now() - pressedAt;
    pressedAt = null;
    if (wasDown || held >= HOLD_MS) call.setCough(false);
  };
  cough.addEventListener('pointerdown', (event) => {
    cough.setPointerCapture(event.pointerId);
    press();
  });
  cough.addEventListener('pointerup', release);
  cough.addEventListener('pointercancel', release);
  cough.addEventListener('lostpointercapture', release);
  cough.addEventListener('keydown', (event) => {
    if (event.key !== ' ' && event.key !== 'Enter') return;
    event.preventDefault();
    if (!event.repeat) press();
  });
  cough.addEventListener('keyup', (event) => {
    if (event.key !== ' ' && event.key !== 'Enter') return;
    event.preventDefault();
    release();
  });
  cough.addEventListener('blur', release);

  // -- the booth -------------------------------------------------------------------------------
  const boothList = h('ul', { class: 'booth-list', testid: 'booth-list' });
  const notice = h('p', { class: 'host-notice', testid: 'interpreter-notice', attrs: { role: 'alert' } });
  let listed = '';

  const el = h(
    'aside',
    { class: 'interpreter-console', testid: 'interpreter-console', attrs: { 'aria-label': 'Interpreter console' } },
    h('section', { class: 'console-head' }, h('h3', { text: 'Interpreting into' }), language, onAir),
    h('section', { class: 'console-actions' }, takeOver, handOver, cough),
    status,
    notice,
    h('section', { class: 'console-booth' }, h('h3', { text: 'In the booth' }), boothList),
    h(
      'section',
      { class: 'console-source' },
      h('label', { class: 'console-label', text: 'You interpret from', attrs: { for: 'interpreter-source' } }),
      source,
      sourceWarning,
    ),
    h('section', { class: 'console-meters' }, micMeter.el, heardMeter.el),
  );

  // -- meters, every animation frame while shown --------------------------------------------
  let mic: { track: MediaStreamTrack; source: MediaStreamAudioSourceNode; meter: LevelMeter } | null = null;
  const heard = new LevelMeter(call.mix.ear);
  let frame = 0;
  const draw = (): void => {
    frame = requestAnimationFrame(draw);
    if (el.hidden) return;
    const track = call.media.audioTrack;
    if (track && mic?.track !== track) {
      mic?.source.disconnect();
      const context = call.mix.context;
      const analyser = context.createAnalyser();
      analyser.fftSize = 1024;
      const node = context.createMediaStreamSource(new MediaStream([track]));
      node.connect(analyser); // not to the speakers: the interpreter must not hear itself twice
      mic = { track, source: node, meter: new LevelMeter(analyser) };
    }
    micMeter.set(mic?.meter.level() ?? 0);
    heardMeter.set(heard.level());
  };
  frame = requestAnimationFrame(draw);

  /** Who a booth mate is, for the status line: their names, else their delegation. */
  const namesOf = (id: string): string => {
    if (id === call.userId) return 'You';
    const p = call.roster.find((r) => r.userId === id);
    return p ? p.people.join(', ') || p.delegation : 'A booth mate';
  };

  const sourceLabel = (channel: Channel): string => (channel === null ? 'Floor' : `Relay: ${languageName(channel)}`);

  const update = (): void => {
    const listening = call.listening;
    el.hidden = !listening.interpreter || !call.admitted || call.connection === 'closed';
    if (el.hidden) return;
    const own = listening.ownLanguage ?? '';
    setText(language, languageName(own));
    language.dataset.language = own;

    const air = listening.air;
    onAir.dataset.state = air;
    setText(airText, AIR_TEXT[air]);

    fillChannels(source, listening.choices, listening.channel, sourceLabel);
    const relay = listening.channel;
    sourceWarning.hidden = relay === null || listening.channelLive;
    if (relay !== null) setText(sourceWarning, `Nobody is live in ${languageName(relay)}: you hear silence.`);
    sourceWarning.title = relay === null ? '' : `You hear nothing until someone in the ${languageName(relay)} booth is live.`;

    const situation = listening.situation;
    const booth = listening.ownBooth;
    takeOver.disabled = !listening.canTakeOver;
    takeOver.classList.toggle('primary', listening.canTakeOver);
    takeOver.title = TAKE_OVER_TITLE[situation];
    handOver.disabled = !listening.canHandOver;
    handOver.classList.toggle('primary', listening.canHandOver);
    handOver.title =
      situation === 'self_handing_over'
        ? 'Handed over: waiting for a booth mate to take over'
        : listening.canHandOver
          ? 'Offer the channel to a booth mate; you stay live until one takes over'
          : 'Only the live interpreter can hand over';
    status.dataset.state = situation;
    setText(status, STATUS_TEXT[situation](booth?.live ? namesOf(booth.live) : ''));
    const down = listening.coughing;
    if (cough.dataset.down !== String(down)) {
      cough.dataset.down = String(down);
      cough.setAttribute('aria-pressed', String(down));
      cough.classList.toggle('down', down);
      clear(cough);
      cough.append(icon(down ? 'micOff' : 'mic'), h('span', { text: down ? 'Muted · press to speak' : 'Cough key' }));
    }

    // The booth's members: rebuilt when the booth or the roster changes.
    const members = (booth?.interpreters ?? []).map((id) => {
      const p = call.roster.find((r) => r.userId === id);
      return {
        id,
        self: id === call.userId,
        names: p ? p.people.join(', ') : `Device ${id}`,
        delegation: p?.delegation ?? '',
        live: booth?.live === id,
        handingOver: booth?.live === id && booth.handingOver,
        muted: booth?.live === id && booth.muted,
      };
    });
    const key = JSON.stringify(members);
    if (key !== listed) {
      listed = key;
      clear(boothList);
      if (members.length === 0) boothList.append(h('li', { class: 'hint', text: 'Nobody yet.' }));
      for (const m of members) {
        // One badge for the live interpreter, so that the row stays one line.
        const liveText = [m.handingOver ? 'Handed over' : '', m.muted ? 'Muted' : ''].filter(Boolean).join(' · ') || 'Live';
        const badge = m.live ? h('span', { class: 'badge live', text: liveText, title: m.muted ? 'Live, muted by the cough key' : 'Live' }) : null;
        const names = m.self ? `${m.names} (you)` : m.names;
        boothList.append(
          h(
            'li',
            {
              class: `booth-member${m.live ? ' live' : ''}`,
              testid: 'booth-member',
              attrs: {
                'data-user-id': m.id,
                'data-live': String(m.live),
                'data-handing-over': String(m.handingOver),
                'data-muted': String(m.muted),
                'data-self': String(m.self),
              },
            },
            h('strong', { class: 'booth-names', text: names, title: names }),
            m.delegation && !m.self ? h('span', { class: 'booth-delegation', text: m.delegation, title: m.delegation }) : null,
            badge,
          ),
        );
      }
    }

    notice.hidden = listening.notice === null;
    setText(notice, listening.notice ?? '');
  };

  return {
    el,
    update,
    dispose: () => {
      cancelAnimationFrame(frame);
      mic?.source.disconnect();
      mic = null;
    },
  };
}
