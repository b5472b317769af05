/**
 * The officer's enrollment console (docs/identity.md, "The officer's ceremony"), opened from the
 * "Officer console" button in the call's header of a summit whose delegations are pinned (in the
 * lobby too, so an officer whose own device waits to be certified can certify it). It asks for the delegation key file and its passphrase
 * (the key stays in this tab's memory only: closing the tab forgets it), then shows:
 *
 * - each enrollment request of the delegation, with its 20-digit code (the officer checks that
 *   the device's screen shows the same) and its claim (who, delegation, role, user id), with
 *   Approve and Decline;
 * - the devices this key certified, with Revoke (asks first: the device leaves the summit);
 * - the pin set: each delegation's fingerprint as its officer read it out (this key's own
 *   filled in), signed and sent to this delegation's devices.
 *
 * The state and the signing are officer.ts (OfficerDesk); this only draws it.
 */

import type { Call } from '../call';
import { OfficerDesk, validUntil, type CertifiedDevice, type WaitingRequest } from '../officer';
import { hex } from '../identity/encoding';
import type { Confirm } from './confirm';
import { clear, h, setText } from './dom';
import { formatRole, languageName } from './format';

export interface OfficerConsole {
  /** The header's "Officer console" button. */
  button: HTMLButtonElement;
  el: HTMLDialogElement;
  update(): void;
}

function roleText(role: string, language: string | null): string {
  return language ? `${formatRole(role)} (${languageName(language)})` : formatRole(role);
}

export function officerConsole(call: Call, confirm: Confirm): OfficerConsole {
  const desk = new OfficerDesk(call);
  call.watchOps((op) => desk.observe(op)); // from the start: `ready`, and the certificates and lists sent on arrival

  const button = h('button', { class: 'pill officer-open', testid: 'officer-console-button', text: 'Officer console', attrs: { type: 'button' } });
  const title = h('h2', { text: 'Officer console' });
  const close = h('button', { class: 'icon-button', testid: 'officer-close', text: 'Close', attrs: { type: 'button' } });

  // -- opening the key -------------------------------------------------------------------------
  const file = h('input', { testid: 'officer-key-file', attrs: { type: 'file', accept: '.key,.json,application/json' } });
  const passphrase = h('input', { testid: 'officer-passphrase', attrs: { type: 'password', autocomplete: 'off', placeholder: 'Passphrase' } });
  const openButton = h('button', { class: 'primary', testid: 'officer-unlock', text: 'Open the key', attrs: { type: 'submit' } });
  const openError = h('p', { class: 'officer-error', testid: 'officer-error', attrs: { role: 'alert' } });
  openError.hidden = true;
  const unlock = h(
    'form',
    { class: 'officer-unlock' },
    h('p', { class: 'hint', text: 'Your delegation key file (parley delegation keygen) and its passphrase. The key stays in this tab’s memory only: it is never stored or sent, and closing the tab forgets it.' }),
    h('label', {}, h('span', { text: 'Key file' }), file),
    h('label', {}, h('span', { text: 'Passphrase' }), passphrase),
    openButton,
    openError,
  );

  // -- the key at work -------------------------------------------------------------------------
  const fingerprint = h('span', { class: 'code', testid: 'officer-fingerprint' });
  const notice = h('p', { class: 'officer-error', testid: 'officer-notice', attrs: { role: 'alert' } });
  notice.hidden = true;
  const requestsList = h('ul', { class: 'lobby-list', testid: 'officer-requests' });
  const noRequests = h('p', { class: 'hint', text: 'No device is waiting. A device asks from its own screen; its request and code appear here.' });
  const devicesList = h('ul', { class: 'lobby-list', testid: 'officer-devices' });
  const noDevices = h('p', { class: 'hint', text: 'This key has certified no device here yet.' });
  const pinRows = h('div', { class: 'officer-pins' });
  const pinSequence = h('span', { class: 'hint' });
  const pinButton = h('button', { testid: 'officer-sign-pins', text: 'Sign and send the pins', attrs: { type: 'submit' } });
  const pinStatus = h('p', { class: 'hint', testid: 'officer-pins-status' });
  const pinForm = h(
    'form',
    { class: 'officer-pin-form' },
    h('p', { class: 'hint', text: 'Type each delegation’s fingerprint as its officer read it to you over a channel you trust; your delegation’s devices will trust these keys only.' }),
    pinRows,
    h('div', { class: 'lobby-actions' }, pinButton, pinSequence),
    pinStatus,
  );
  const working = h(
    'div',
    { class: 'officer-work' },
    h('p', { class: 'officer-key' }, h('span', { class: 'hint', text: 'Delegation key ' }), fingerprint),
    notice,
    h('section', {}, h('h3', { text: 'Requests to approve' }), noRequests, requestsList),
    h('section', {}, h('h3', { text: 'Certified devices' }), noDevices, devicesList),
    h('section', {}, h('h3', { text: 'Pins of the summit' }), pinForm),
  );
  working.hidden = true;

  const el = h('dialog', { class: 'officer', testid: 'officer-console' }, h('div', { class: 'officer-head' }, title, close), unlock, working);
  button.addEventListener('click', () => {
    if (!el.open) el.showModal();
    update();
  });
  close.addEventListener('click', () => el.close());

  unlock.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) {
      showOpenError('Choose your delegation key file first.');
      return;
    }
    openButton.disabled = true;
    setText(openButton, 'Opening…');
    openError.hidden = true;
    chosen
      .text()
      .then((text) => desk.open(text, passphrase.value))
      .then(
        () => {
          passphrase.value = '';
          file.value = '';
        },
        (err: unknown) => showOpenError(err instanceof Error ? err.message : String(err)),
      )
      .finally(() => {
        openButton.disabled = false;
        setText(openButton, 'Open the key');
        update();
      });
  });

  const showOpenError = (text: string): void => {
    setText(openError, text);
    openError.hidden = false;
  };

  // -- requests ------------------------------------------------------------------------------
  const requestEntry = (waiting: WaitingRequest): HTMLElement => {
    const claim = waiting.request.claim;
    const approveButton = h('button', { class: 'primary', testid: 'officer-approve', text: 'Approve', attrs: { type: 'button' } });
    const declineButton = h('button', { testid: 'officer-decline', text: 'Decline', attrs: { type: 'button' } });
    approveButton.addEventListener('click', () => {
      approveButton.disabled = true;
      void desk.approve(waiting.userId).finally(() => {
        approveButton.disabled = false;
      });
    });
    declineButton.addEventListener('click', () => void desk.decline(waiting.userId));
    return h(
      'li',
      { class: 'lobby-entry', testid: 'officer-request', attrs: { 'data-user-id': String(waiting.userId) } },
      h('div', { class: 'code officer-code', testid: 'officer-request-code', text: waiting.code }),
      h('p', { class: 'hint', text: 'Approve only if the device’s screen shows this same code.' }),
      h(
        'div',
        { class: 'lobby-who' },
        h('strong', { text: claim.people.join(', ') }),
        h('span', { class: 'lobby-role', text: `${claim.delegation} · ${roleText(claim.role, claim.language)} · user ${claim.userId}` }),
      ),
      h('div', { class: 'lobby-actions' }, approveButton, declineButton),
    );
  };

  // -- certified devices ---------------------------------------------------------------------
  const deviceEntry = (device: CertifiedDevice): HTMLElement => {
    const claim = device.claim;
    const revokeButton = h('button', { class: 'danger-action', testid: 'officer-revoke', text: 'Revoke', attrs: { type: 'button' } });
    revokeButton.hidden = device.revoked;
    revokeButton.addEventListener('click', () => {
      void confirm
        .ask({
          title: `Revoke the certificate of ${claim.people.join(', ')}?`,
          text: `Every device of the summit stops trusting this device (${claim.delegation}, user ${claim.userId}) at once, and it leaves the summit. It can come back only once you approve a new request.`,
          action: 'Revoke',
        })
        .then((ok) => {
          if (ok) void desk.revoke(device.userId);
        });
    });
    return h(
      'li',
      { class: `lobby-entry${device.revoked ? ' officer-revoked' : ''}`, testid: 'officer-device', attrs: { 'data-user-id': String(device.userId) } },
      h(
        'div',
        { class: 'lobby-who' },
        h('strong', { text: claim.people.join(', ') }),
        h('span', { class: 'lobby-role', text: `${roleText(claim.role, claim.language)} · user ${claim.userId}${device.userId === desk.userId ? ' · this device' : ''}` }),
      ),
      h('span', { class: 'hint', text: device.revoked ? 'Revoked' : `Valid until ${validUntil(device.notAfter)} · serial ${device.serials.map(hex).join(', ')}` }),
      h('div', { class: 'lobby-actions' }, revokeButton),
    );
  };

  // -- pins ----------------------------------------------------------------------------------
  const pinInputs = new Map<string, HTMLInputElement>();
  let pinsFor = '';
  const drawPins = (): void => {
    const names = desk.summit?.delegations.map((d) => d.name) ?? [];
    const own = desk.delegation;
    const key = JSON.stringify([names, own, desk.fingerprint?.digits ?? null]);
    if (key === pinsFor) return;
    pinsFor = key;
    clear(pinRows);
    pinInputs.clear();
    for (const name of names) {
      const input = h('input', { class: 'code', testid: 'officer-pin-input', attrs: { 'data-delegation': name, placeholder: '30 digits', inputmode: 'numeric', autocomplete: 'off' } });
      if (name === own && desk.fingerprint) {
        input.value = desk.fingerprint.toString();
        input.readOnly = true;
      }
      pinInputs.set(name, input);
      pinRows.append(h('label', {}, h('span', { text: name === own ? `${name} (yours)` : name }), input));
    }
  };
  pinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const typed = new Map([...pinInputs].map(([name, input]) => [name, input.value] as const));
    pinButton.disabled = true;
    void desk.publishPins(typed).then((sent) => {
      pinButton.disabled = false;
      setText(pinStatus, sent ? 'Sent: your delegation’s devices now trust these keys.' : '');
      update();
    });
  });

  // -- drawing -------------------------------------------------------------------------------
  let requestsListed = '';
  let devicesListed = '';
  const update = (): void => {
    // Only a summit whose delegations are pinned needs certificates: elsewhere the console has nothing to do.
    button.hidden = call.connection === 'closed' || desk.summit === null || Object.keys(desk.summit.pins).length === 0;
    if (!el.open) return;
    const open = desk.key !== null && desk.isConsole;
    unlock.hidden = open;
    working.hidden = !open;
    if (desk.delegation) setText(title, `Officer console · ${desk.delegation}`);
    if (!open) return;
    setText(fingerprint, desk.fingerprint?.toString() ?? '');
    setText(notice, desk.notice ?? '');
    notice.hidden = desk.notice === null;
    const requests = desk.requests;
    const requestsKey = requests.map((r) => `${r.userId}:${r.code}`).join('|');
    if (requestsKey !== requestsListed) {
      requestsListed = requestsKey;
      clear(requestsList);
      requestsList.append(...requests.map(requestEntry));
    }
    noRequests.hidden = requests.length > 0;
    const devices = desk.certified;
    const devicesKey = devices.map((d) => `${d.userId}:${d.serials.map(hex).join(',')}:${d.revoked}`).join('|');
    if (devicesKey !== devicesListed) {
      devicesListed = devicesKey;
      clear(devicesList);
      devicesList.append(...devices.map(deviceEntry));
    }
    noDevices.hidden = devices.length > 0;
    drawPins();
    setText(pinSequence, `Pin set number ${desk.nextPinSequence}`);
  };
  desk.onChange(update);
  call.onChange(update);

  return { button, el, update };
}
