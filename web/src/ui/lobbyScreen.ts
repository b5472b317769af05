/**
 * The lobby, after Join until the host admits this device: calm, nothing to do but wait (or leave).
 * Nothing is sent or received meanwhile: no picture, no sound, no keys.
 */

import type { Call } from '../call';
import { h, setText } from './dom';

export interface LobbyScreen {
  el: HTMLElement;
  update(): void;
}

export function lobbyScreen(call: Call): LobbyScreen {
  const summit = h('dd', { testid: 'lobby-summit' });
  const delegation = h('dd', { testid: 'lobby-delegation' });
  const people = h('dd', { testid: 'lobby-people' });
  const pressNote = h('p', {
    class: 'hint',
    text: 'Press: the host admits the press when the opening starts. You will see and hear the opening only.',
  });
  const leave = h('button', { testid: 'lobby-leave-button', text: 'Leave', attrs: { type: 'button' }, on: { click: () => call.leave() } });
  const el = h(
    'section',
    { class: 'card lobby', testid: 'lobby-screen', attrs: { role: 'status', 'aria-live': 'polite' } },
    h('span', { class: 'lobby-pulse', attrs: { 'aria-hidden': 'true' } }),
    h('h1', { text: 'Waiting for the host to admit you' }),
    h(
      'dl',
      { class: 'facts' },
      h('div', {}, h('dt', { text: 'Summit' }), summit),
      h('div', {}, h('dt', { text: 'Delegation' }), delegation),
      h('div', {}, h('dt', { text: 'At this device' }), people),
    ),
    pressNote,
    h('p', { class: 'hint', text: 'This page joins the call by itself once you are admitted. Nothing is sent from this device until then.' }),
    leave,
  );

  const update = (): void => {
    el.hidden = !call.inLobby;
    if (el.hidden) return;
    setText(summit, call.summit?.title ?? '');
    setText(delegation, call.self?.delegation ?? '');
    setText(people, call.self?.people.join(', ') ?? '');
    pressNote.hidden = !call.press;
  };

  return { el, update };
}
