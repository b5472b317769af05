/**
 * The record panel (docs/record.md), beside the tiles of a certified summit's readers (never the
 * press): the record's state in one line; the entries, each statement with its standing in words;
 * for each outcome of another delegation that awaits this one, a prompt with the exact text and
 * Sign, Decline… (a reason required) and Amend (a new draft, prefilled: an outcome is never
 * edited); a drafting area whose drafts stay on this device until posted; the host's "Close the
 * record"; and "Export readout" (the canonical JSON and its printable page).
 *
 * Lists are rebuilt only when what they show changed, so a reason being typed survives the
 * redraws every call change brings.
 */

import type { Call } from '../call';
import type { RecordSession } from '../record/session';
import type { Standing } from '../record/view';
import { stateWords, standingWords } from '../record/words';
import { clear, h, setText } from './dom';

export interface RecordPanel {
  el: HTMLElement;
  update(): void;
}

const KIND_WORDS: Record<Standing['kind'], string> = { position: 'Position', outcome: 'Outcome', action: 'Action item', decline: 'Reason' };

function button(text: string, testid: string, cls = ''): HTMLButtonElement {
  return h('button', { class: cls, testid, text, attrs: { type: 'button' } });
}

/** Save `text` as a file the browser downloads. */
function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h('a', { attrs: { href: url, download: name } });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function recordPanel(call: Call): RecordPanel {
  const state = h('p', { class: 'record-state', testid: 'record-state', attrs: { role: 'status' } });
  const notice = h('p', { class: 'record-notice', testid: 'record-notice', attrs: { role: 'alert' } });
  const prompts = h('div', { class: 'record-prompts', testid: 'record-prompts' });
  const entries = h('ol', { class: 'record-entries', testid: 'record-entries', attrs: { start: '0' } });

  // -- drafting ------------------------------------------------------------------------------
  const draft = h('textarea', { testid: 'record-draft', attrs: { 'aria-label': 'Draft', rows: '4', placeholder: 'A position or an outcome, as it should stand in the record' } });
  const amending = h('p', { class: 'record-amending', testid: 'record-amending' });
  const stopAmending = button('Not an amendment', 'record-not-amending', 'link');
  const position = button('State position', 'record-position');
  const propose = button('Propose outcome', 'record-propose', 'primary');
  const what = h('input', { testid: 'action-what', attrs: { 'aria-label': 'What', placeholder: 'What' } });
  const who = h('input', { testid: 'action-who', attrs: { 'aria-label': 'Who', placeholder: 'Who' } });
  const due = h('input', { testid: 'action-due', attrs: { 'aria-label': 'By when', placeholder: 'By when' } });
  const addAction = button('Add action item', 'record-action');
  const drafting = h(
    'section',
    { class: 'record-drafting', testid: 'record-drafting', attrs: { 'aria-label': 'Drafting' } },
    h('h3', { text: 'Draft' }),
    draft,
    h('div', { class: 'record-amend-line' }, amending, stopAmending),
    h('div', { class: 'record-buttons' }, position, propose),
    h('div', { class: 'record-action-form', attrs: { role: 'group', 'aria-label': 'Action item' } }, what, who, due, addAction),
  );
  const readOnly = h('p', { class: 'hint', text: 'Only your delegation’s principal and the signers its officer named write in the record.' });

  const close = button('Close the record', 'record-close', 'danger');
  const exportButton = button('Export readout', 'record-export');
  const el = h(
    'aside',
    { class: 'record-panel', testid: 'record-panel', attrs: { 'aria-label': 'The record' } },
    h('h3', { text: 'The record' }),
    state,
    notice,
    prompts,
    drafting,
    readOnly,
    entries,
    h('div', { class: 'record-buttons' }, close, exportButton),
  );

  let amends: bigint | null = null;
  let busy = false;
  let entriesKey = '';
  let promptsKey = '';

  const session = (): RecordSession | null => call.record;

  /** Run one write; the notice says why it failed; drafts are cleared only when it was taken. */
  const act = (work: (record: RecordSession) => Promise<unknown>, done: () => void = () => undefined): void => {
    const record = session();
    if (record === null || busy) return;
    busy = true;
    setText(notice, '');
    update();
    work(record)
      .then(done, (e: unknown) => setText(notice, `Not written: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        busy = false;
        update();
      });
  };

  position.addEventListener('click', () => {
    const text = draft.value.trim();
    if (text) act((r) => r.position(text), () => (draft.value = ''));
  });
  propose.addEventListener('click', () => {
    const text = draft.value.trim();
    const amended = amends;
    if (text) act((r) => r.propose(text, amended), () => {
      draft.value = '';
      amends = null;
    });
  });
  stopAmending.addEventListener('click', () => {
    amends = null;
    update();
  });
  addAction.addEventListener('click', () => {
    const [w, o, d] = [what.value.trim(), who.value.trim(), due.value.trim()];
    if (w) act((r) => r.action(w, o, d), () => {
      what.value = who.value = due.value = '';
    });
  });
  close.addEventListener('click', () => act((r) => r.closeRecord()));
  exportButton.addEventListener('click', () => {
    const record = session();
    if (record === null) return;
    try {
      const { json, html } = record.export();
      const name = `parley-record-${record.setup.summitId}`;
      download(`${name}.json`, 'application/json', json);
      download(`${name}.html`, 'text/html', html);
      setText(notice, '');
    } catch (e) {
      setText(notice, `No readout: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  for (const input of [draft, what, who, due]) input.addEventListener('input', () => update());

  /** A signing prompt for an outcome of another delegation: its exact text, Sign, Decline…, Amend. */
  const prompt = (s: Standing): HTMLElement => {
    const reason = h('textarea', { testid: 'decline-reason', attrs: { 'aria-label': 'Reason for declining', rows: '2' } });
    const confirmDecline = button('Decline', 'decline-confirm', 'danger');
    const cancel = button('Cancel', 'decline-cancel');
    const declining = h('div', { class: 'record-declining' }, reason, h('div', { class: 'record-buttons' }, confirmDecline, cancel));
    declining.hidden = true;
    confirmDecline.disabled = true;
    const sign = button('Sign', 'prompt-sign', 'primary');
    const decline = button('Decline…', 'prompt-decline');
    const amend = button('Amend', 'prompt-amend');
    sign.addEventListener('click', () => act((r) => r.sign(s.seq)));
    decline.addEventListener('click', () => {
      declining.hidden = false;
      reason.focus();
    });
    reason.addEventListener('input', () => (confirmDecline.disabled = reason.value.trim() === ''));
    cancel.addEventListener('click', () => {
      declining.hidden = true;
      reason.value = '';
    });
    confirmDecline.addEventListener('click', () => {
      const why = reason.value.trim();
      if (why) act((r) => r.decline(s.seq, why));
    });
    amend.addEventListener('click', () => {
      amends = s.seq;
      draft.value = s.statement.text;
      draft.focus();
      update();
    });
    return h(
      'section',
      { class: 'record-prompt', testid: 'signing-prompt', attrs: { 'aria-label': `Outcome ${s.seq} proposed by ${s.by}`, 'data-seq': String(s.seq) } },
      h('p', { text: `${s.by} proposes (entry ${s.seq}). Sign exactly this text:` }),
      h('blockquote', { testid: 'prompt-text', text: s.statement.text }),
      h('div', { class: 'record-buttons' }, sign, decline, amend),
      declining,
    );
  };

  const entryItem = (s: Standing): HTMLElement =>
    h(
      'li',
      { class: `record-entry ${s.kind}`, testid: 'record-entry', attrs: { value: String(s.seq), 'data-seq': String(s.seq), 'data-kind': s.kind } },
      h('span', { class: 'record-kind', text: `${KIND_WORDS[s.kind]} · ${s.by}` }),
      h('blockquote', { testid: 'record-text', text: s.statement.text }),
      h('span', { class: 'record-standing', testid: 'record-standing', text: standingWords(s) }),
    );

  function update(): void {
    const record = session();
    el.hidden = record === null || !call.admitted || call.connection === 'closed';
    if (record === null || el.hidden) return;
    const standings = record.standings();
    setText(state, record.ready ? stateWords(record.recordState, record.length, record.sealedBy) : 'Record: waiting for this device’s pins and certificate');

    const key = standings.map((s) => `${s.seq}:${standingWords(s)}`).join('\n');
    if (key !== entriesKey) {
      entriesKey = key;
      clear(entries);
      entries.append(...standings.map(entryItem));
    }

    const open = record.recordState === 'open';
    const writer = record.signer && open;
    const awaiting = writer ? record.awaiting() : [];
    const pKey = awaiting.map((s) => String(s.seq)).join(',');
    if (pKey !== promptsKey) {
      promptsKey = pKey;
      clear(prompts);
      prompts.append(...awaiting.map(prompt));
    }
    for (const b of prompts.querySelectorAll('button')) b.disabled = busy || (b.dataset.testid === 'decline-confirm' && (b.closest('.record-declining')?.querySelector('textarea')?.value.trim() ?? '') === '');

    drafting.hidden = !writer;
    readOnly.hidden = record.signer || !open;
    setText(amending, amends === null ? '' : `Amending entry ${amends}: a new outcome, the one it amends stays as it is.`);
    stopAmending.hidden = amends === null;
    propose.textContent = amends === null ? 'Propose outcome' : 'Propose amendment';
    const empty = draft.value.trim() === '';
    position.disabled = busy || empty || amends !== null;
    propose.disabled = busy || empty;
    addAction.disabled = busy || what.value.trim() === '';
    close.hidden = !call.host || !open;
    close.disabled = busy;
    exportButton.disabled = !record.hasKey || record.length === 0;
  }

  return { el, update };
}
