/**
 * The end of the stay: left (join again), or ended by the server. The course's endings (refused,
 * locked, removed, the opening over for the press, the summit over) get a final screen that says
 * which, with the server's words; nothing reconnects after them.
 */

import type { Call } from '../call';
import { ENDING_DETAIL, ENDING_TEXT } from '../course';
import { isEndingCode } from '../signaling';
import { clear, h } from './dom';

function rejoin(text: string): HTMLButtonElement {
  return h('button', { class: 'primary big', testid: 'rejoin-button', text, attrs: { type: 'button' }, on: { click: () => location.reload() } });
}

export function renderEndScreen(el: HTMLElement, call: Call): void {
  clear(el);
  const ending = call.ending;
  if (ending === null) {
    el.append(
      h('h1', { text: call.fatal ? 'The call has ended' : 'You have left the summit' }),
      h('p', { testid: 'call-ended-reason', text: call.fatal ?? 'Thank you. You can join again with the same link.' }),
      rejoin('Join again'),
    );
    return;
  }
  const code = ending.code;
  const course = isEndingCode(code);
  const headline = course ? ENDING_TEXT[code] : 'The call has ended';
  // The server's words as it sent them (the style capitalises them), unless they only repeat the headline.
  const said = ending.message.trim();
  const letters = (text: string): string => text.toLowerCase().replace(/[^a-z]/g, '');
  const repeats = letters(headline).startsWith(letters(said));
  const detail = said && !repeats ? said : course ? ENDING_DETAIL[code] : 'The server ended the call.';
  el.append(
    h(
      'div',
      { class: 'final', testid: 'final-screen', attrs: { 'data-reason': code } },
      h('h1', { text: headline }),
      h('p', { class: 'reason', testid: 'call-ended-reason', text: detail }),
      // A locked summit may open again; every other ending is final for this link.
      code === 'summit_locked'
        ? rejoin('Try again')
        : h('p', { class: 'hint', text: course ? 'You can close this page.' : 'Ask the organiser of the summit, or your delegation’s host, for a new link.' }),
    ),
  );
}
