/**
 * What this device hears, always on screen: a pill in the header ("Hearing: Russian · interpreter
 * live", or the floor), and for every device but an interpreter (whose console has its own
 * source choice) the "Listen to" selector in the controls: the floor or one of the summit's
 * languages. Nothing shows in a summit without interpretation.
 */

import type { Call } from '../call';
import type { Channel } from '../interpretation/channels';
import { clear, h, setText } from './dom';
import { channelName, languageName } from './format';
import { icon } from './icons';

export interface ChannelBar {
  /** For the header's status row. */
  pill: HTMLElement;
  /** For the controls row: the "Listen to" selector. */
  selector: HTMLElement;
  update(): void;
}

/** A channel as a <select> value: '' is the floor (no language tag is empty). */
export function channelValue(channel: Channel): string {
  return channel ?? '';
}

export function channelFromValue(value: string): Channel {
  return value === '' ? null : value;
}

/** Fill a <select> with channels, once per change of the list; keeps the chosen one selected. */
export function fillChannels(select: HTMLSelectElement, channels: Channel[], chosen: Channel, label: (c: Channel) => string): void {
  const key = JSON.stringify(channels);
  if (select.dataset.channels !== key) {
    select.dataset.channels = key;
    clear(select);
    for (const channel of channels) select.append(h('option', { text: label(channel), attrs: { value: channelValue(channel) } }));
  }
  if (select.value !== channelValue(chosen)) select.value = channelValue(chosen);
}

/** "Hearing: …": the channel, and whether anyone is live in it (the floor is turned down then). */
export function hearingText(call: Call): { text: string; live: boolean } {
  const listening = call.listening;
  const channel = listening.channel;
  if (channel === null) return { text: 'Hearing: Floor', live: false };
  const booth = listening.heardBooth;
  const name = languageName(channel);
  if (listening.interpreter) {
    if (!booth?.live) return { text: `Relay: ${name} · nobody live`, live: false };
    return { text: `Relay: ${name}${booth.muted ? ' · muted for a moment' : ''}`, live: true };
  }
  if (!booth?.live) return { text: `Hearing: ${name} · no interpreter live`, live: false };
  return { text: `Hearing: ${name} · interpreter live${booth.muted ? ' (muted for a moment)' : ''}`, live: true };
}

export function channelBar(call: Call): ChannelBar {
  const pillText = h('span', {});
  const pill = h('span', { class: 'pill channel-indicator', testid: 'channel-indicator', attrs: { role: 'status' } }, icon('headphones'), pillText);
  const select = h('select', { testid: 'channel-select', attrs: { 'aria-label': 'Listen to' } });
  select.addEventListener('change', () => call.listen(channelFromValue(select.value)));
  const selector = h('label', { class: 'channel-choice' }, h('span', { text: 'Listen to' }), select);

  const update = (): void => {
    const listening = call.listening;
    const show = listening.active && call.admitted && call.connection !== 'closed';
    pill.hidden = !show;
    selector.hidden = !show || listening.interpreter;
    if (!show) return;
    const { text, live } = hearingText(call);
    setText(pillText, text);
    pill.dataset.channel = listening.channel ?? 'floor';
    pill.dataset.live = String(live);
    pill.title =
      listening.channel === null
        ? 'You hear the floor as spoken'
        : listening.interpreter
          ? live
            ? 'On relay you hear only that channel, not the floor'
            : 'On relay you hear only that channel, not the floor: silence until someone is live in it'
          : live
            ? 'The floor is turned down while an interpreter is live'
            : 'Nobody is interpreting into this language now: you hear the floor at full level';
    fillChannels(select, listening.choices, listening.channel, channelName);
  };

  return { pill, selector, update };
}
