/**
 * The call: a tile per device, the speaker highlighted, the encryption indicator and group code
 * always on screen, pairwise codes on a tile's click, mute / camera / leave. The summit course
 * in the header (phase, clock); the lobby screen until admitted; the host panel beside the tiles
 * for those who may admit; the end screen. Interpretation: what this device hears in the header
 * and the "Listen to" selector in the controls; an interpreter's console beside the tiles. Tiles
 * are the floor's devices (interpreters are channels, not tiles); their <video>s are muted, as
 * all sound plays through the mix (interpretation/mixer.ts). Every device without a tile
 * (interpreters; for a press device, the other press devices) is a name in "Also in the call"
 * beside the group code, which opens its pairwise code just as a tile does: every member of the
 * key group can be verified.
 *
 * Who is in the call is the key group, not the server's roster: a member of the key group the
 * roster does not explain is listed as "Unknown member <user id>" (red), one leaving as such; a
 * tile whose device never reached the key group, or whose key changed, is marked red; one whose
 * link came with another key in an earlier call is marked "new key since last call". Alarms are
 * a red banner naming the user id, and while one stands the indicator never says "End-to-end
 * encrypted".
 *
 * Identities (verification.ts): every tile and every entry of "Also in the call" shows its
 * device's verification state (certified by its delegation, pinned; unverified; or the alarm in
 * words), and the header the summit's ("All N members certified"). The codes stay, as the manual
 * fallback. In a summit that admits certified devices only, the enrollment screen shows this
 * device's request code until its officer approves it.
 */

import type { Alarm, Call, Participant } from '../call';
import type { MembershipStatus } from '../generated/codes';
import { confirmDialog } from './confirm';
import { channelBar } from './channelBar';
import { courseBar } from './courseBar';
import { clear, h, setText } from './dom';
import { renderEndScreen } from './endScreen';
import { formatSchedule, languageName } from './format';
import { hostPanel } from './hostPanel';
import { icon, type IconName } from './icons';
import { interpreterConsole } from './interpreterConsole';
import { lobbyScreen } from './lobbyScreen';
import { officerConsole } from './officerConsole';
import { recordPanel } from './recordPanel';
import { enrollmentScreen } from './enrollmentScreen';
import { summaryOf, verificationOf, type Verification } from '../verification';
import { describeQuality, qualityBadge, type LinkQuality } from '../quality';

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
} as const;

interface Tile {
  el: HTMLElement;
  video: HTMLVideoElement;
  flag: HTMLElement;
  verification: HTMLElement;
  quality: HTMLElement;
  delegation: HTMLElement;
  people: HTMLElement;
  role: HTMLElement;
  remove: HTMLButtonElement | null;
  stream: MediaStream | null;
}

function peopleText(p: Participant): string {
  return p.people.join(', ');
}

/** The indicator's words while an alarm stands: what the first one was about. */
const ALARM_LABEL: Record<Alarm['reason'], string> = {
  downgrade: 'Not encrypted — refused',
  duplicate_member: 'Unknown member in the key group',
  unknown_member: 'Unknown member in the key group',
  hidden_member: 'Hidden member in the key group',
  not_in_group: 'Participant missing from the key group',
  key_changed: 'A participant’s key changed',
  uncertified: 'Uncertified member in the key group',
  attestation_mismatch: 'The call is split',
  attestation_silent: 'A member did not confirm the key group',
  pins: 'Pins not confirmed by this delegation',
  record_altered: 'The server altered the record',
  record_reordered: 'The server reordered the record',
  record_dropped: 'The server withheld part of the record',
  record_forked: 'The record is forked',
  no_transform: 'NOT end-to-end encrypted (benchmark)',
};

/** A tile's flag for its device's standing in the key group ('' for none); `bad`: shown red. */
function tileFlag(status: MembershipStatus | null, newKey: boolean): { text: string; bad: boolean } {
  if (status === 'key_changed') return { text: 'Key changed during the call', bad: true };
  if (status === 'not_in_group') return { text: 'Not in the key group', bad: true };
  if (newKey) return { text: 'New key since last call: compare the code', bad: false };
  return { text: '', bad: false };
}

/** A device of the key group with no roster entry, for the pairwise code dialog. */
function unknownMember(userId: string): Participant {
  return {
    userId,
    delegationId: '',
    delegation: `Unknown member ${userId}`,
    role: '',
    people: [`user ${userId}`],
    publishing: false,
    language: null,
    key: null,
    link: null,
  };
}

/** A tile's connection quality: the word and short figures on the tile, in full in its tooltip and accessible name. */
function showQuality(el: HTMLElement, quality: LinkQuality | null): void {
  el.hidden = quality === null;
  if (quality === null) return;
  setText(el, qualityBadge(quality));
  const words = describeQuality(quality);
  el.title = words;
  el.setAttribute('aria-label', words);
  el.dataset.level = quality.level;
}

export function renderCallView(root: HTMLElement, call: Call): void {
  clear(root);

  // -- top bar -------------------------------------------------------------------------------
  const title = h('h1', { class: 'call-title', testid: 'call-title' });
  const schedule = h('div', { class: 'call-schedule', testid: 'call-schedule' });
  const connection = h('span', { class: 'pill connection', testid: 'connection-state', attrs: { role: 'status' } });
  const encryption = h('span', { class: 'pill encryption', testid: 'encryption-indicator', attrs: { role: 'status' } });
  const encryptionText = h('span', {});
  let encryptionIcon: SVGSVGElement = icon('clock');
  encryption.append(encryptionIcon, encryptionText);
  const identityPill = h('span', { class: 'pill identity', testid: 'identity-state', attrs: { role: 'status' } });
  /** A control's label: an icon and words, replaced only when they change. */
  const label = (el: HTMLElement, name: IconName, text: string): void => {
    if (el.dataset.icon === name && el.textContent === text) return;
    el.dataset.icon = name;
    clear(el);
    el.append(icon(name), h('span', { text }));
  };

  // -- banners -------------------------------------------------------------------------------
  const warning = h('div', { class: 'banner warning', testid: 'decryption-warning', attrs: { role: 'alert' } });
  const alarm = h('div', { class: 'banner alarm', testid: 'encryption-alarm', attrs: { role: 'alert' } });
  let alarmKey = '';
  warning.hidden = true;
  alarm.hidden = true;
  const soundBlocked = h('div', { class: 'banner warning', testid: 'sound-blocked', attrs: { role: 'alert' } });
  soundBlocked.textContent = 'The browser is holding the sound back. Click anywhere on the page to hear the call.';
  soundBlocked.hidden = true;

  // -- group code ----------------------------------------------------------------------------
  const groupCode = h('span', { class: 'code', testid: 'group-code' });
  const codeHint = h('span', { class: 'hint' });
  // The devices without a tile, each a button that opens its pairwise code like a tile.
  const untiledList = h('span', { class: 'untiled-list' });
  const untiled = h('div', { class: 'untiled', testid: 'also-in-call' }, h('span', { class: 'label', text: 'Also in the call' }), untiledList);
  untiled.hidden = true;
  let untiledKey = '';
  const codes = h(
    'section',
    { class: 'group-code', attrs: { 'aria-label': 'Group verification code' } },
    h('span', { class: 'label', text: 'Group code' }),
    groupCode,
    untiled,
    codeHint,
  );

  // -- tiles ---------------------------------------------------------------------------------
  const tilesEl = h('main', { class: 'tiles', testid: 'tiles' });
  const tiles = new Map<string, Tile>();

  // -- controls ------------------------------------------------------------------------------
  const mute = h('button', { class: 'control', testid: 'mute-toggle', attrs: { type: 'button' } });
  const camera = h('button', { class: 'control', testid: 'camera-toggle', attrs: { type: 'button' } });
  const leave = h('button', { class: 'control danger', testid: 'leave-button', attrs: { type: 'button' } });
  label(leave, 'leave', 'Leave');
  mute.addEventListener('click', () => call.setMicEnabled(!call.media.micEnabled));
  camera.addEventListener('click', () => {
    camera.disabled = true;
    call
      .setCameraEnabled(!call.media.cameraEnabled)
      .catch(() => undefined)
      .finally(() => {
        camera.disabled = false;
      });
  });
  leave.addEventListener('click', () => call.leave());

  // -- pairwise code dialog ------------------------------------------------------------------
  const dialogTitle = h('h2', {});
  const dialogText = h('p', { class: 'dialog-text' });
  const dialogCode = h('div', { class: 'code big-code', testid: 'pairwise-code' });
  const dialog = h(
    'dialog',
    { class: 'pairwise', testid: 'pairwise-dialog' },
    dialogTitle,
    dialogText,
    dialogCode,
    h('p', {
      class: 'hint',
      text: 'If every digit matches, your two devices hold each other’s real keys: no one sits in between. If not, stop and tell the organiser.',
    }),
    h('form', { attrs: { method: 'dialog' } }, h('button', { class: 'primary', testid: 'pairwise-close', text: 'Done' })),
  );
  let dialogFor: string | null = null;
  const openPairwise = (p: Participant): void => {
    dialogFor = p.userId;
    setText(dialogTitle, `Verify ${p.delegation}`);
    setText(dialogText, `Read this code aloud with ${peopleText(p)} (${p.delegation}). Their screen shows a code for you: it must be the same.`);
    setText(dialogCode, 'Computing…');
    dialogCode.classList.add('pending');
    if (!dialog.open) dialog.showModal();
    call
      .pairwiseCode(p.userId)
      .then((code) => {
        if (dialogFor !== p.userId) return;
        setText(dialogCode, code);
        dialogCode.classList.remove('pending');
      })
      .catch(() => {
        if (dialogFor !== p.userId) return;
        setText(dialogCode, 'Not available yet: this device is still joining the key group. Try again in a moment.');
      });
  };
  dialog.addEventListener('close', () => {
    dialogFor = null;
  });
  /** Verify one device (a tile's click, or its name in "Also in the call"): its pairwise code. */
  const verify = (userId: string): void => {
    const current = call.roster.find((r) => r.userId === userId);
    if (current) openPairwise(current);
    else if (call.members.some((m) => m.userId === userId)) openPairwise(unknownMember(userId));
  };

  // -- the course, the lobby, the host ------------------------------------------------------
  const confirm = confirmDialog();
  const course = courseBar(call);
  const lobby = lobbyScreen(call);
  const enrollment = enrollmentScreen(call);
  const host = hostPanel(call, confirm);
  const channels = channelBar(call);
  const booth = interpreterConsole(call);
  const officer = officerConsole(call, confirm);
  const record = recordPanel(call);

  // -- the end ------------------------------------------------------------------------------
  const endScreen = h('section', { class: 'card end', testid: 'call-ended' });
  endScreen.hidden = true;

  const inCall: HTMLElement[] = [];
  const controls = h('footer', { class: 'controls' }, channels.selector, mute, camera, leave);
  const stage = h('div', { class: 'stage' }, tilesEl, host.el, record.el, booth.el);
  inCall.push(codes, stage, controls);
  const view = h(
    'div',
    { class: 'call' },
    h(
      'header',
      { class: 'topbar' },
      h('div', { class: 'titles' }, title, schedule),
      h('div', { class: 'status' }, ...course.pills, channels.pill, connection, encryption, identityPill, officer.button),
    ),
    alarm,
    warning,
    soundBlocked,
    course.banner,
    lobby.el,
    enrollment.el,
    ...inCall,
    dialog,
    officer.el,
    confirm.el,
  );
  root.append(view, endScreen);

  /** The host's Remove on a tile (asks first); clicks and keys stay off the tile's own action. */
  const removeButton = (userId: string): HTMLButtonElement => {
    const button = h('button', { class: 'tile-remove', testid: 'remove-button', text: 'Remove', title: 'Remove this device from the summit', attrs: { type: 'button' } });
    button.addEventListener('keydown', (event) => event.stopPropagation());
    button.addEventListener('click', (event) => {
      event.stopPropagation();
      const p = call.roster.find((r) => r.userId === userId);
      if (!p) return;
      void confirm
        .ask({
          title: `Remove ${p.delegation}?`,
          text: `${peopleText(p)} (${p.delegation}) will leave the call at once, and the encryption keys change so this device can no longer follow it. If its link is used again, it waits in the lobby until you admit it.`,
          action: 'Remove',
        })
        .then((ok) => {
          if (ok && call.roster.some((r) => r.userId === userId)) call.remove(userId);
        });
    });
    return button;
  };

  const makeTile = (p: Participant, self: boolean): Tile => {
    const video = h('video', { class: self ? 'mirror' : '' });
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // sound plays through the mix only (never twice); our own would echo
    const delegation = h('strong', { class: 'tile-delegation' });
    const people = h('span', { class: 'tile-people' });
    const role = h('span', { class: 'tile-role' });
    const flag = h('span', { class: 'tile-flag', testid: 'tile-flag' });
    const verification = h('span', { class: 'tile-verification', testid: 'tile-verification' });
    const quality = h('span', { class: 'tile-quality', testid: 'tile-quality', attrs: { role: 'status' } });
    quality.hidden = true;
    const placeholder = h('div', { class: 'placeholder', text: self ? 'Your camera is off' : p.role === 'press' ? 'Press (view only)' : 'No picture' });
    const remove = self ? null : removeButton(p.userId);
    const el = h(
      'figure',
      { class: `tile${self ? ' self' : ''}`, testid: 'tile', attrs: { 'data-user-id': p.userId } },
      video,
      placeholder,
      h('figcaption', {}, delegation, role, people),
      verification,
      quality,
      flag,
      remove,
    );
    if (!self) {
      el.tabIndex = 0;
      el.setAttribute('role', 'button');
      el.title = 'Show the code to verify this device';
      const open = (): void => verify(p.userId);
      el.addEventListener('click', open);
      el.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          open();
        }
      });
    }
    return { el, video, flag, verification, quality, delegation, people, role, remove, stream: null };
  };

  /**
   * "Also in the call": a compact button per device without a tile, and one per member of the key
   * group the roster does not list (`strangers`: unknown, red; or leaving); rebuilt when they change.
   */
  const renderUntiled = (devices: Participant[], strangers: { userId: string; status: MembershipStatus }[]): void => {
    const entries = [
      ...strangers.map((m) => {
        const v = verificationOfMember(m.userId);
        return {
          userId: m.userId,
          role: '',
          language: null,
          status: m.status,
          text: m.status === 'leaving' ? `Leaving: user ${m.userId}` : `Unknown member ${m.userId}`,
          title:
            m.status === 'leaving'
              ? 'Left the call; its removal from the key group is under way'
              : 'In the key group but not in the list of participants: it can decrypt this call',
          verification: v,
        };
      }),
      ...devices.map((p) => {
        const v = verificationOfMember(p.userId);
        return {
          userId: p.userId,
          role: p.role,
          language: p.language,
          status: call.statusOf(p.userId) ?? '',
          text: `${peopleText(p)} · ${p.language !== null ? languageName(p.language) : p.role === 'press' ? 'Press' : p.delegation}`,
          title: `${p.delegation}: ${p.language !== null ? `interpreter into ${languageName(p.language)}` : p.role === 'press' ? 'press' : p.role}. ${v.detail} Show the code to verify this device`,
          verification: v,
        };
      }),
    ];
    untiled.hidden = entries.length === 0;
    const key = JSON.stringify(entries);
    if (key === untiledKey) return;
    untiledKey = key;
    clear(untiledList);
    for (const entry of entries) {
      untiledList.append(
        h(
          'button',
          {
            class: `untiled-device${entry.status === 'hidden' || entry.status === 'key_changed' || entry.status === 'not_in_group' || entry.verification.state === 'alarm' ? ' flagged' : ''}`,
            testid: entry.status === 'hidden' ? 'unknown-member' : 'also-in-call-entry',
            title: entry.title,
            attrs: {
              type: 'button',
              'data-user-id': entry.userId,
              'data-role': entry.role,
              'data-language': entry.language ?? '',
              'data-status': entry.status,
              'data-verification': entry.verification.state,
            },
            on: { click: () => verify(entry.userId) },
          },
          entry.language !== null ? icon('headphones') : null,
          h('span', { text: entry.text }),
          h('span', { class: `verification ${entry.verification.state}`, testid: 'entry-verification', text: entry.verification.text }),
        ),
      );
    }
  };

  /** A member's verification state, as its tile or entry shows it. */
  const verificationOfMember = (userId: string): Verification => verificationOf(userId, call.certifiedMode, call.identity, call.alarms);

  const render = (): void => {
    const summit = call.summit;
    if (summit) {
      setText(title, summit.title);
      const when = formatSchedule(summit.scheduled_start, summit.duration_minutes);
      setText(schedule, `${when.date} · ${when.time}`);
    }
    // A path that is down (the socket, or ICE) says so, rather than leaving a frozen picture to explain itself.
    const shown = call.reconnecting ? 'reconnecting' : call.connection;
    setText(connection, call.reconnectAttempt > 0 && call.connection !== 'closed' ? `${CONNECTION_TEXT[shown]} (attempt ${call.reconnectAttempt})` : CONNECTION_TEXT[shown]);
    connection.dataset.state = shown;

    // The lobby: no call yet, so no encryption to show, no code, no tiles.
    course.update();
    lobby.update();
    enrollment.update();
    host.update();
    record.update();
    channels.update();
    booth.update();
    soundBlocked.hidden = !call.admitted || call.connection === 'closed' || call.mix.running;
    const waiting = call.inLobby || call.enrolling;
    for (const el of inCall) el.hidden = waiting;
    encryption.hidden = waiting;
    const summary = summaryOf(call.certifiedMode, call.pinned, call.identity);
    identityPill.hidden = waiting || call.summit === null;
    identityPill.dataset.state = summary.state;
    identityPill.title = summary.detail;
    setText(identityPill, summary.text);

    const state = call.encryption;
    encryption.dataset.state = state;
    const labels = {
      establishing: call.alone && call.connection === 'connected' ? 'Establishing encryption… (waiting for others)' : 'Establishing encryption…',
      encrypted: 'End-to-end encrypted',
      warning: `Decryption problems (${call.decryptFailures} frames)`,
      alarm: ALARM_LABEL[call.alarms[0]?.reason ?? 'downgrade'],
    };
    setText(encryptionText, labels[state]);
    const iconName: IconName = state === 'encrypted' ? 'lock' : state === 'establishing' ? 'clock' : 'warning';
    if (encryptionIcon.dataset.name !== iconName) {
      const next = icon(iconName);
      next.dataset.name = iconName;
      encryptionIcon.replaceWith(next);
      encryptionIcon = next;
    }

    // One line per alarm, each naming its member; the hold said once.
    alarm.hidden = call.alarms.length === 0;
    const lines = call.alarms.map((a) => a.text);
    if (call.session?.held && (call.alarms.length > 0 || !call.certifiedMode)) {
      lines.push('Your camera and microphone are held: nothing leaves this device while the key group holds a member it cannot vouch for.');
    }
    const nextAlarmKey = JSON.stringify(lines);
    if (nextAlarmKey !== alarmKey) {
      alarmKey = nextAlarmKey;
      clear(alarm);
      for (const line of lines) alarm.append(h('p', { text: line }));
    }
    warning.hidden = state !== 'warning';
    setText(
      warning,
      `${call.decryptFailures} audio or video frames could not be decrypted and were not played. This can happen for a moment when someone joins; if it lasts, compare the group code aloud.`,
    );

    const code = call.session?.groupCode ?? null;
    setText(groupCode, code ?? '— — — — — —');
    groupCode.classList.toggle('pending', code === null);

    // Tiles: others first (by delegation), then this device. A press device shows no tile of its
    // own (it sends nothing) and none of other press devices (it follows the delegations only).
    // Interpreters are channels, not the floor: no tiles (they are in "Also in the call").
    const press = call.press;
    const others = call.roster
      .filter((p) => p.userId !== call.userId && !(press && p.role === 'press') && p.language === null)
      .sort((a, b) => a.delegation.localeCompare(b.delegation));
    const self = call.self && call.userId && !press && !call.interpreter ? [call.self] : [];
    const everyone: Participant[] = call.connection === 'closed' || waiting ? [] : [...others, ...self];
    const keep = new Set(everyone.map((p) => p.userId));
    for (const [id, tile] of tiles) {
      if (!keep.has(id)) {
        tile.video.srcObject = null;
        tile.el.remove();
        tiles.delete(id);
      }
    }
    everyone.forEach((p, index) => {
      const isSelf = p.userId === call.userId;
      let tile = tiles.get(p.userId);
      if (!tile) {
        tile = makeTile(p, isSelf);
        tiles.set(p.userId, tile);
      }
      if (tilesEl.children[index] !== tile.el) tilesEl.insertBefore(tile.el, tilesEl.children[index] ?? null);
      setText(tile.delegation, isSelf ? `${p.delegation} (this device)` : p.delegation);
      setText(tile.people, peopleText(p));
      setText(tile.role, p.role === 'press' ? 'Press' : '');
      if (tile.remove) tile.remove.hidden = !call.host;
      const stream = call.streamFor(p.userId);
      if (stream !== tile.stream) {
        tile.stream = stream;
        tile.video.srcObject = stream;
      }
      const flag = tileFlag(isSelf ? null : call.statusOf(p.userId), call.newKeys.has(p.userId));
      setText(tile.flag, flag.text);
      tile.flag.classList.toggle('bad', flag.bad);
      const verified = verificationOfMember(p.userId);
      setText(tile.verification, verified.text);
      tile.verification.title = verified.detail;
      tile.verification.dataset.state = verified.state;
      tile.el.dataset.verification = verified.state;
      tile.el.classList.toggle('distrusted', flag.bad || verified.state === 'alarm');
      tile.el.classList.toggle('speaking', call.speaker === p.userId);
      tile.el.classList.toggle('no-picture', stream === null || !call.hasPicture(p.userId));
      showQuality(tile.quality, isSelf ? null : call.qualityOf(p.userId));
    });
    tilesEl.dataset.count = String(everyone.length);

    // The devices without a tile: interpreters (by language), and for a press device the other
    // press devices. They are in the key group and hear the call: each must be verifiable.
    const withoutTile =
      call.connection === 'closed' || waiting
        ? []
        : call.roster
            .filter((p) => p.userId !== call.userId && !keep.has(p.userId))
            .sort(
              (a, b) =>
                Number(a.language === null) - Number(b.language === null) ||
                (a.language ?? '').localeCompare(b.language ?? '') ||
                a.delegation.localeCompare(b.delegation),
            );
    // Members of the key group the roster does not list: unknown (hidden by the server), or leaving.
    const listed = new Set(call.roster.map((p) => p.userId));
    const strangers =
      call.connection === 'closed' || waiting
        ? []
        : call.members.filter((m) => !listed.has(m.userId) && m.userId !== call.userId).sort((a, b) => a.userId.localeCompare(b.userId));
    renderUntiled(withoutTile, strangers);
    const hint =
      code === null
        ? 'Shown once this device has joined the key group.'
        : untiled.hidden
          ? 'Everyone’s screen must show the same code. Click a tile to verify one device.'
          : 'Everyone’s screen must show the same code. Click a tile, or a name in “Also in the call”, to verify one device.';
    const unkept = call.keyKept ? '' : ' This browser keeps no key between visits: your pairwise codes will differ next time.';
    setText(codeHint, hint + unkept);

    // An interpreter's cough key (in its console) is its mute; it has no camera.
    mute.hidden = press || call.interpreter;
    camera.hidden = press || call.media.audioOnly;
    const micOn = call.media.micEnabled;
    label(mute, micOn ? 'mic' : 'micOff', micOn ? 'Mute' : 'Unmute');
    mute.setAttribute('aria-pressed', String(!micOn));
    mute.classList.toggle('off', !micOn);
    const camOn = call.media.cameraEnabled;
    label(camera, camOn ? 'camera' : 'cameraOff', camOn ? 'Camera off' : 'Camera on');
    camera.setAttribute('aria-pressed', String(!camOn));
    camera.classList.toggle('off', !camOn);

    if (call.connection === 'closed') {
      if (dialog.open) dialog.close();
      confirm.close();
      course.dispose();
      booth.dispose();
      view.hidden = true;
      endScreen.hidden = false;
      renderEndScreen(endScreen, call);
    }
  };

  call.onChange(render);
  render();
}
