/**
 * The host panel, beside the tiles on devices that may admit (the host; a delegation's principal
 * when admission is by delegation heads): who waits in the lobby, with Admit and Refuse (a device
 * whose link the host removed a device of is flagged); for the host also the lock, the next phase
 * (ending the summit asks first), allowing the overrun, and revoking a device's invitation link
 * (asks first: every device of that link leaves, and the link admits no one any more).
 */

import type { Call, Participant, Waiting } from '../call';
import { ADVANCE_TEXT, nextPhase } from '../course';
import type { Confirm } from './confirm';
import { clear, h, setText } from './dom';
import { formatRole } from './format';

export interface HostPanel {
  el: HTMLElement;
  update(): void;
}

export function hostPanel(call: Call, confirm: Confirm): HostPanel {
  // -- the course (host only) ----------------------------------------------------------------
  const advance = h('button', { class: 'primary', testid: 'advance-button', attrs: { type: 'button' } });
  const lock = h('button', { testid: 'lock-toggle', attrs: { type: 'button' } });
  const overrun = h('button', { testid: 'allow-overrun', attrs: { type: 'button' } });
  const courseControls = h('section', { class: 'host-course' }, h('h3', { text: 'The summit' }), advance, lock, overrun);

  advance.addEventListener('click', () => {
    const phase = call.course.phase;
    const target = phase ? nextPhase(phase) : null;
    if (!target) return;
    if (target !== 'ended') {
      call.advance(target);
      return;
    }
    void confirm
      .ask({
        title: 'End the summit?',
        text: 'Every device leaves the call and no one can join again. This cannot be undone.',
        action: 'End the summit',
      })
      .then((ok) => {
        if (ok && call.course.phase === phase) call.advance(target);
      });
  });
  lock.addEventListener('click', () => call.setLocked(!(call.course.info?.locked ?? false)));
  overrun.addEventListener('click', () => call.allowOverrun());

  // -- revoking links (host only) ------------------------------------------------------------
  const revokeLink = (who: { userId: string; delegation: string; role: string; people: string[] }): void => {
    void confirm
      .ask({
        title: `Revoke the link of ${who.people.join(', ')}?`,
        text: `Every device that joined with this ${formatRole(who.role)} link of ${who.delegation} leaves the summit at once, the encryption keys change, and the link no longer admits anyone. This cannot be undone.`,
        action: 'Revoke the link',
      })
      .then((ok) => {
        const present = call.roster.some((r) => r.userId === who.userId) || call.lobby.some((w) => w.userId === who.userId);
        if (ok && present) call.revoke(who.userId);
      });
  };
  const revokeButton = (who: Participant | Waiting): HTMLButtonElement => {
    const button = h('button', { class: 'danger-action', testid: 'revoke-button', text: 'Revoke link', title: 'This device and its link leave the summit for good', attrs: { type: 'button' } });
    button.addEventListener('click', () => revokeLink(who));
    return button;
  };
  const linksList = h('ul', { class: 'lobby-list', testid: 'links-list' });
  const links = h('section', { class: 'host-links' }, h('h3', { text: 'Invitation links in use' }), linksList);
  let linksListed = '';

  const linkEntry = (p: Participant): HTMLElement =>
    h(
      'li',
      { class: 'lobby-entry', testid: 'link-entry', attrs: { 'data-user-id': p.userId } },
      h('div', { class: 'lobby-who' }, h('strong', { text: p.delegation }), h('span', { class: 'lobby-role', text: formatRole(p.role) }), h('span', { class: 'lobby-people', text: p.people.join(', ') })),
      h('div', { class: 'lobby-actions' }, revokeButton(p)),
    );

  // -- the lobby -----------------------------------------------------------------------------
  const lobbyTitle = h('h3', {});
  const lobbyList = h('ul', { class: 'lobby-list', testid: 'lobby-list' });
  const lobbyEmpty = h('p', { class: 'hint', text: 'No one is waiting.' });
  const notice = h('p', { class: 'host-notice', testid: 'host-notice', attrs: { role: 'alert' } });
  let listed = '';

  const entry = (w: Waiting): HTMLElement => {
    const admit = h('button', { class: 'primary', testid: 'admit-button', text: 'Admit', attrs: { type: 'button' } });
    const refuse = h('button', { testid: 'refuse-button', text: 'Refuse', attrs: { type: 'button' } });
    const act = (action: () => void): void => {
      admit.disabled = true;
      refuse.disabled = true;
      action();
    };
    admit.addEventListener('click', () => act(() => call.admit(w.userId)));
    refuse.addEventListener('click', () => act(() => call.refuse(w.userId)));
    const flag = w.removedEarlier
      ? h('p', { class: 'lobby-removed', testid: 'lobby-removed', text: 'You removed a device of this link earlier: admit it only if you mean to let it back in.' })
      : null;
    if (w.removedEarlier) admit.textContent = 'Admit again';
    return h(
      'li',
      { class: 'lobby-entry', testid: 'lobby-entry', attrs: { 'data-user-id': w.userId } },
      h(
        'div',
        { class: 'lobby-who' },
        h('strong', { text: w.delegation }),
        h('span', { class: 'lobby-role', text: formatRole(w.role) }),
        h('span', { class: 'lobby-people', text: w.people.join(', ') }),
      ),
      ...(flag ? [flag] : []),
      h('div', { class: 'lobby-actions' }, admit, refuse, ...(call.host ? [revokeButton(w)] : [])),
    );
  };

  const el = h(
    'aside',
    { class: 'host-panel', testid: 'host-panel', attrs: { 'aria-label': 'Host controls' } },
    courseControls,
    h('section', { class: 'host-lobby' }, lobbyTitle, lobbyList, lobbyEmpty),
    links,
    notice,
  );

  const update = (): void => {
    el.hidden = !(call.canAdmit || call.host) || !call.admitted || call.connection === 'closed';
    if (el.hidden) return;

    const info = call.course.info;
    courseControls.hidden = !call.host;
    if (call.host && info) {
      const next = nextPhase(info.phase);
      advance.hidden = next === null;
      if (next) {
        advance.dataset.nextPhase = next;
        advance.classList.toggle('danger-action', next === 'ended');
        advance.classList.toggle('primary', next !== 'ended');
        setText(advance, ADVANCE_TEXT[next]);
      } else {
        delete advance.dataset.nextPhase;
      }
      setText(lock, info.locked ? 'Unlock the summit' : 'Lock the summit');
      lock.setAttribute('aria-pressed', String(info.locked));
      lock.dataset.locked = String(info.locked);
      lock.title = info.locked ? 'New devices can join again' : 'No new devices can join';
      // A summit set to stop at its end cannot be allowed to run over (the server refuses it).
      overrun.disabled = info.overrun || info.phase === 'ended' || info.at_end !== 'overrun';
      setText(overrun, info.overrun ? 'Overrun allowed' : 'Allow overrun');
      overrun.title = info.overrun
        ? 'The summit may run past its end'
        : info.at_end === 'overrun'
          ? 'Let the summit run past its scheduled end'
          : 'This summit stops at its scheduled end';
    }
    courseControls.querySelectorAll('button').forEach((b) => {
      if (b !== overrun) b.disabled = info === null;
    });

    // The list is rebuilt when it changes (or a refusal came back: its buttons work again).
    setText(lobbyTitle, `Waiting in the lobby (${call.lobby.length})`);
    lobbyEmpty.hidden = call.lobby.length > 0;
    const key = JSON.stringify([call.lobby, call.hostNotice]);
    if (key !== listed) {
      listed = key;
      clear(lobbyList);
      for (const w of call.lobby) lobbyList.append(entry(w));
    }

    // The host may revoke the link of any other device in the call.
    const others = call.host ? call.roster.filter((p) => p.userId !== call.userId) : [];
    links.hidden = others.length === 0;
    const linksKey = JSON.stringify(others.map((p) => [p.userId, p.delegation, p.role, p.people]));
    if (linksKey !== linksListed) {
      linksListed = linksKey;
      clear(linksList);
      for (const p of others) linksList.append(linkEntry(p));
    }
    notice.hidden = call.hostNotice === null;
    setText(notice, call.hostNotice ?? '');
  };

  return { el, update };
}
