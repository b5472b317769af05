/**
 * The join page: what the invitation admits to, who is at this device, camera and microphone
 * check (not for press; microphone only for an interpreter).
 */

import type { InvitationInfo } from '../api';
import type { LocalMedia } from '../localMedia';
import { MAX_NAME, MAX_PEOPLE, cleanName } from '../people';
import { clear, h } from './dom';
import { formatRole, formatSchedule, languageName } from './format';
import { mediaCheck } from './mediaCheck';

const PEOPLE_KEY = 'parley.people';

export interface JoinPageOptions {
  info: InvitationInfo;
  media: LocalMedia;
  onJoin(people: string[]): void;
}

function savedPeople(): string[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(PEOPLE_KEY) ?? '[]');
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string').map(cleanName).filter((v) => v.length > 0).slice(0, MAX_PEOPLE);
  } catch {
    // nothing saved
  }
  return [];
}

export function renderJoinPage(root: HTMLElement, options: JoinPageOptions): () => void {
  const { info, media } = options;
  const when = formatSchedule(info.scheduled_start, info.duration_minutes);
  clear(root);

  // -- camera and microphone (never asked for on a press device: it sends nothing) ----------
  const press = info.role === 'press';
  const check = press ? null : mediaCheck(media);
  const mediaError = check?.error ?? null;

  // -- people at this device -----------------------------------------------------------------
  const list = h('ol', { class: 'people-list' });
  const addButton = h('button', { class: 'link-button', testid: 'add-name', text: '+ Add a person', attrs: { type: 'button' } });
  const joinButton = h('button', { class: 'primary big', testid: 'join-button', text: 'Join the summit', attrs: { type: 'submit' } });
  const names = (): string[] =>
    [...list.querySelectorAll('input')].map((input) => cleanName(input.value)).filter((name) => name.length > 0);
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
          info.language ? h('div', {}, h('dt', { text: 'Interpreting into' }), h('dd', { testid: 'interpreter-language', text: languageName(info.language) })) : null,
          h('div', {}, h('dt', { text: 'When' }), h('dd', { testid: 'schedule' }, when.date, h('br'), when.time)),
        ),
        h(
          'div',
          { class: 'join-grid' },
          check?.el ??
            h(
              'div',
              { class: 'preview press-note', testid: 'press-note' },
              h('h2', { text: 'Press: you see the opening only' }),
              h('p', { text: 'This device sends no picture and no sound: Parley does not ask for a camera or a microphone.' }),
              h('p', { class: 'hint', text: 'The host admits the press when the opening starts. When the opening ends, this page says so.' }),
            ),
          form,
        ),
      ),
    ),
  );
  void check?.open();

  return () => check?.dispose();
}
