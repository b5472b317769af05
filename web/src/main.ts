/**
 * Parley in the browser. The server serves this page at /join/{summit_id}; the invitation token
 * is in the fragment (#...), which browsers never send to a server. The page reads it (and the
 * Parley server, when a delegation serves this page from its own origin: see invite.ts), keeps it
 * for this tab (sessionStorage, so a reload still works), and takes it out of the address bar.
 */

import './styles.css';

import { checkInvitation } from './api';
import { Call, type TestState } from './call';
import { encodedTransformSupported } from './e2ee/manager';
import { type Invite, parseFragment } from './invite';
import { LocalMedia, ROOM_VIDEO, SMALL_VIDEO } from './localMedia';
import { renderCallView } from './ui/callView';
import { clear, h } from './ui/dom';
import { renderJoinPage } from './ui/joinPage';

declare global {
  interface Window {
    /** Test hooks (Playwright): the call's state, and a device's pairwise code. */
    parley: {
      state(): TestState;
      pairwiseCode(userId: string): Promise<string>;
      /** Measured frame-layer cost in the DAVE worker since the call started. */
      frameCost(): Call['cost'] | null;
    };
  }
}

const root = document.getElementById('app') ?? document.body;
const query = new URLSearchParams(location.search);
let call: Call | null = null;

const idle: TestState = {
  connection: 'closed',
  encryption: 'establishing',
  groupCode: null,
  userId: null,
  roster: [],
  alarms: [],
  members: [],
  held: false,
  newKeys: [],
  publicKey: null,
  decryptFailures: 0,
  keyFramesSent: 0,
  peers: {},
  quality: {},
  reconnecting: false,
  admitted: false,
  phase: null,
  lobby: [],
  ended: null,
  identity: null,
  clockWarnings: [],
  overrun: false,
  channel: null,
  language: null,
  booths: [],
  gains: {},
  coughing: false,
  ear: null,
  sound: false,
  invalidOps: 0,
  subscribeRequests: {},
  refusedFeeds: {},
  record: null,
};

window.parley = {
  state: () => call?.testState() ?? structuredClone(idle),
  pairwiseCode: async (userId: string) => {
    if (!call) throw new Error('not in a call');
    return call.pairwiseCode(userId);
  },
  frameCost: () => (call ? { ...call.cost } : null),
};

function summitFromPath(): string | null {
  const match = /^\/join\/([A-Za-z0-9_-]{1,32})\/?$/.exec(location.pathname);
  return match?.[1] ?? null;
}

function inviteFor(summitId: string): Invite | null {
  const key = `parley.invite.${summitId}`;
  const fragment = location.hash.replace(/^#/, '');
  if (fragment) {
    const invite = parseFragment(fragment, location.origin);
    if (invite) sessionStorage.setItem(key, JSON.stringify(invite));
    // Keep the token off the screen (rooms share their screens) and out of the history.
    history.replaceState(null, '', location.pathname + location.search);
    return invite;
  }
  const kept = sessionStorage.getItem(key);
  return kept ? (JSON.parse(kept) as Invite) : null;
}

function linkError(headline: string, detail: string, retry: (() => void) | null): void {
  clear(root);
  root.append(
    h(
      'main',
      { class: 'join' },
      h('header', { class: 'brand' }, h('span', { class: 'brand-mark', text: 'Parley' })),
      h(
        'section',
        { class: 'card link-error', testid: 'link-error', attrs: { role: 'alert' } },
        h('h1', { text: headline }),
        h('p', { class: 'reason', testid: 'link-error-reason', text: sentence(detail) }),
        retry
          ? h('button', { class: 'primary big', text: 'Try again', attrs: { type: 'button' }, on: { click: retry } })
          : h('p', { class: 'hint', text: 'Ask the organiser of the summit, or your delegation’s host, for a new link.' }),
      ),
    ),
  );
}

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const capital = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function headlineFor(reason: string): string {
  if (/expired/i.test(reason)) return 'This invitation has expired';
  if (/withdrawn|revoked/i.test(reason)) return 'This invitation was withdrawn';
  if (/another summit/i.test(reason)) return 'This invitation is for another summit';
  return 'This invitation link does not work';
}

async function start(): Promise<void> {
  const summitId = summitFromPath();
  const invite = summitId ? inviteFor(summitId) : null;
  if (!summitId || !invite) {
    linkError('This page opens from an invitation link', 'the link you used is incomplete; open the full invitation link you were sent', null);
    return;
  }
  if (!encodedTransformSupported() || !crossOriginIsolated) {
    linkError(
      'This browser cannot join securely',
      !crossOriginIsolated
        ? 'the page is not cross-origin isolated, which end-to-end encryption needs here (a server setting)'
        : 'it cannot encrypt audio and video end to end; use a current Chrome, Edge, Firefox or Safari',
      null,
    );
    return;
  }
  clear(root);
  root.append(h('main', { class: 'join' }, h('p', { class: 'loading', text: 'Checking your invitation…' })));
  const { token, server } = invite;
  const check = await checkInvitation(server, summitId, token);
  if (!check.ok) {
    if (check.refused) linkError(headlineFor(check.reason), check.reason, null);
    else linkError('Parley cannot be reached', check.reason, () => void start());
    return;
  }
  // A press device never opens a camera or microphone (the join page does not ask for them); an
  // interpreter's opens the microphone only.
  const shape = check.info.role === 'interpreter' ? null : query.has('testSmallVideo') ? SMALL_VIDEO : ROOM_VIDEO;
  const media = new LocalMedia({ audioId: null, videoId: null }, shape);
  const leaveJoinPage = renderJoinPage(root, {
    info: check.info,
    media,
    onJoin: (people) => {
      leaveJoinPage();
      call = new Call({
        summitId,
        token,
        server,
        people,
        role: check.info.role,
        media,
        testWrongGroup: query.get('testWrongGroup') === '1',
        testNoTransform: query.get('testNoTransform') === '1',
        testAlsoSubscribe: query.get('testAlsoSubscribe'),
        delegation: invite.delegation ?? null,
      });
      renderCallView(root, call);
      call.join().catch(() => undefined); // the call view shows why
    },
  });
}

void start();
