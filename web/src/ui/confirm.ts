/**
 * An in-page confirmation (not `window.confirm`, which would stall the page, heartbeats included,
 * for as long as it is open): a modal dialog with the question, the action and "Cancel".
 */

import { h, setText } from './dom';

export interface ConfirmRequest {
  title: string;
  text: string;
  /** The words on the button that does it ("End the summit", "Remove"). */
  action: string;
}

export interface Confirm {
  el: HTMLDialogElement;
  /** Resolves true when the action was confirmed, false when cancelled (or superseded). */
  ask(request: ConfirmRequest): Promise<boolean>;
  close(): void;
}

export function confirmDialog(): Confirm {
  const title = h('h2', {});
  const text = h('p', { class: 'dialog-text' });
  const accept = h('button', { class: 'danger-action', testid: 'confirm-accept', attrs: { type: 'button' } });
  const cancel = h('button', { testid: 'confirm-cancel', text: 'Cancel', attrs: { type: 'button' } });
  const el = h('dialog', { class: 'confirm', testid: 'confirm-dialog' }, title, text, h('div', { class: 'dialog-actions' }, cancel, accept));
  let settle: ((ok: boolean) => void) | null = null;

  const finish = (ok: boolean): void => {
    const resolve = settle;
    settle = null;
    if (el.open) el.close();
    resolve?.(ok);
  };
  accept.addEventListener('click', () => finish(true));
  cancel.addEventListener('click', () => finish(false));
  // Escape closes it (the event comes a moment later: a dialog opened again since is left alone).
  el.addEventListener('close', () => {
    if (!el.open) finish(false);
  });

  return {
    el,
    ask(request: ConfirmRequest): Promise<boolean> {
      finish(false);
      setText(title, request.title);
      setText(text, request.text);
      setText(accept, request.action);
      return new Promise<boolean>((resolve) => {
        settle = resolve;
        el.showModal();
        cancel.focus(); // the safe choice is the default
      });
    },
    close: () => finish(false),
  };
}
