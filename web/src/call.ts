/**
 * One device's stay in a summit's call: the signalling connection, the DAVE session (in the
 * worker, through `E2eeManager`), the publisher and one subscription per other device.
 *
 * It follows the server: `ready` identifies us (our user id, the summit course) and says whether
 * we are admitted; until `admitted` the device waits in the lobby: no DAVE session, no publishing,
 * no subscribing. `roster` says who is there and who publishes (subscribe then), `media_reset`
 * means publish again. Press devices never publish and subscribe to delegation devices only.
 * Interpretation (`Listening`): every device subscribes to the floor and to the channel it chose,
 * and plays all sound through one WebAudio mix (`Mixer`); an interpreter publishes its microphone
 * only, into its language's channel, and drives its booth (take over, hand over, cough).
 * When the connection drops it rejoins with the same invitation and the same signature key (so the
 * same user id, and a new DAVE session), backing off up to `MAX_RECONNECT_DELAY_S`. A refused invitation, a refused
 * admission, a locked summit, removal, the end of the opening (press) and the end of the summit
 * end the stay instead: the `error` op before the close says which, and nothing reconnects.
 *
 * Certified mode (a summit with pins, a link naming the own delegation's fingerprint; see
 * docs/identity.md): the device presents the certificate it kept in `identify`, or enrolls (shows
 * the request's code, sends `enroll`, waits for its `certificate`), and the worker checks every
 * epoch against the documents the server relays (`Enrollment`, e2ee/identityGuard.ts).
 */

import type { IdentityView, RosterPerson } from './e2ee/messages';
import { E2eeManager } from './e2ee/manager';
import type { MemberView } from './e2ee/membership';
import type { AlarmReason, ClaimFields, FrameStatsMessage, SenderFrameCounts, SessionSnapshot } from './e2ee/messages';
import { EnrollmentRequest } from './identity/enrollment';
import { unbase64url } from './identity/encoding';
import { base64url } from './e2ee/mlsWire';
import { RecordSession, type Ports as RecordPorts } from './record/session';
import { keepRecordCopy } from './record/copyStore';
import { KeyMemory } from './keyMemory';
import { CourseState } from './course';
import { EarProbe, type EarReading } from './interpretation/analysis';
import { refusalText } from './interpretation/booth';
import type { Channel } from './interpretation/channels';
import { Listening } from './interpretation/listening';
import { Mixer } from './interpretation/mixer';
import type { LocalMedia } from './localMedia';
import { LOST_RACE_CODES, type ErrorCode, type MembershipStatus, type Phase } from './generated/codes';
import type { DeviceInfo, LobbyDevice, ReadyOp, ServerOp, SummitInfo } from './generated/wire';
import { ServerFrames } from './incoming';
import { Publisher, Subscription, pathDown } from './media';
import { QualityMeter, type LinkQuality } from './quality';
import { RequestFailed, type AnswerTo, type RequestMessage } from './requests';
import { CLOSE_REFUSED, ENDING_FOR_CLOSE, FINAL_CLOSE_CODES, SignalingSocket, isEndingCode, signalingUrl } from './signaling';
import type { OfficerOp } from './officer';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';
export type EncryptionState = 'establishing' | 'encrypted' | 'warning' | 'alarm';

export interface Participant {
  userId: string;
  delegationId: string;
  delegation: string;
  role: string;
  people: string[];
  publishing: boolean;
  /** An interpreter's channel: its feed is that language, not the floor. Null for everyone else. */
  language: string | null;
  /** The signature key it identified with (base64url), and its invitation's tag; null if not said. */
  key: string | null;
  link: string | null;
}

/** Something only an attacking server would do (or a benchmark without encryption): shown until the stay ends. */
export interface Alarm {
  reason: AlarmReason | 'no_transform';
  /** The member it is about, if any. */
  userId: string | null;
  text: string;
}

export interface PeerStats {
  framesDecoded: number;
  audioSamplesReceived: number;
}

/** The state tests read through `window.parley.state()`. */
export interface TestState {
  connection: ConnectionState;
  encryption: EncryptionState;
  groupCode: string | null;
  userId: string | null;
  roster: { userId: string; delegation: string; people: string[]; publishing: boolean }[];
  /** The alarms raised, each with the member it names. */
  alarms: { reason: string; userId: string | null }[];
  /** Every device of the key group and the roster, with its status (from the worker). */
  members: { userId: string; status: MembershipStatus }[];
  /** The worker holds outgoing media (a hidden member or a swapped key in the key group). */
  held: boolean;
  /** Devices whose link came with another key in an earlier call. */
  newKeys: string[];
  /** This profile's DAVE signature public key (base64url), as sent in `identify`. */
  publicKey: string | null;
  decryptFailures: number;
  /** Key frames this device's video encoder made (outbound-rtp `keyFramesEncoded`). */
  keyFramesSent: number;
  peers: Record<string, PeerStats>;
  /** How well each remote device is received, as its tile shows it. */
  quality: Record<string, LinkQuality>;
  /** The header says "Reconnecting…": the signalling socket or ICE is down. */
  reconnecting: boolean;
  /** In the call (false: in the lobby, or not identified yet). */
  admitted: boolean;
  phase: Phase | null;
  /** User ids waiting in the lobby (devices that may admit only). */
  lobby: string[];
  /** The error code that ended the stay ("opening_ended", "removed", ...); null while it goes on. */
  ended: string | null;
  /** Certified mode, as the page shows it (null: the summit has no pins, or the link names no delegation). */
  identity: {
    pins: string;
    summary: string | null;
    verdicts: { userId: string; delegation: string | null; problem: string | null }[];
    /** Waiting for this device's certificate (its request's code shown). */
    enrolling: boolean;
    code: string | null;
    /** Enrollment requests sent on this page (a reload that comes back certified sends none). */
    enrollments: number;
    /** This device holds a certificate it accepted. */
    certified: boolean;
  } | null;
  clockWarnings: number[];
  /** The host allowed the summit to run past its end. */
  overrun: boolean;
  /** What this device hears: a language channel, or null for the floor (an interpreter: its source). */
  channel: string | null;
  /** An interpreter's own language (its booth); null for every other device. */
  language: string | null;
  /** The booths as the server last sent them (`booths` op). */
  booths: { language: string; interpreters: string[]; live: string | null; handingOver: boolean; muted: boolean }[];
  /** Each subscribed feed's gain in the mix (0: not heard; the summit's ducking: the floor under a channel). */
  gains: Record<string, number>;
  /** An interpreter's cough key is down (its microphone track is disabled). */
  coughing: boolean;
  /** The mix this device plays, analysed (server with test hooks only; else null). */
  ear: EarReading | null;
  /** The AudioContext is running (false: the browser holds the sound until the page is clicked). */
  sound: boolean;
  /** Text frames from the server refused at the boundary (an unknown op, or a known op of the wrong shape). */
  invalidOps: number;
  /** How often each feed was asked for on this connection (a refusal of another feed must not make it ask again). */
  subscribeRequests: Record<string, number>;
  /** Feeds the server refused to this device, with the code (e.g. `no_such_feed`), until asked for again. */
  refusedFeeds: Record<string, string>;
  /** The record as this device holds it (null: not a reader of a certified summit). */
  record: { state: string | null; length: number; caughtUp: boolean; hasKey: boolean; signer: boolean; sealedBy: string[]; refused: string[] } | null;
}

export interface Waiting {
  userId: string;
  delegationId: string;
  delegation: string;
  role: string;
  people: string[];
  /** The host removed a device of its link earlier: admitting it lifts that removal. */
  removedEarlier: boolean;
}

/** How the stay ended, when the server ended it: the error code and the server's words. */
export interface Ending {
  code: string;
  message: string;
}

export interface CallOptions {
  summitId: string;
  token: string;
  /** The Parley server's origin (the page's own, unless the link names another: see invite.ts). */
  server: string;
  people: string[];
  /** The invitation's role (from the invitation check); `ready` says it again. */
  role: string;
  /** Camera and microphone; never opened on a press device. */
  media: LocalMedia;
  /** Test only: use channel id + 1 for the DAVE group, so this device's keys are wrong. */
  testWrongGroup: boolean;
  /** Benchmark only: no frame transforms at all, to measure what E2EE costs. The UI says so. */
  testNoTransform: boolean;
  /** Test only: also ask for this feed, as if its device published (one the server will refuse, say). */
  testAlsoSubscribe: string | null;
  /** The own delegation's key fingerprint from the link (30 digits): certified mode in a summit with pins. */
  delegation: string | null;
}

/** This device's enrollment: the request it shows, and how it stands. */
export interface Enrollment {
  /** The request's 20-digit code, in groups of five: the officer compares it. */
  code: string | null;
  /** The request's text (`parley-enrollment:…`), for an officer who copies it by hand. */
  request: string | null;
  /** Why this device cannot enroll or was refused, in words; null while all is well. */
  problem: string | null;
}

const MAX_RECONNECT_DELAY_S = 10;
/** Stats (decoded frames, audio levels) are polled this often. */
const POLL_MS = 500;
/** A feed the server refused is asked for again after this long at the soonest (the roster may have raced it). */
const SUBSCRIBE_RETRY_MS = 10_000;
const PUBLISH_RETRY_MS = 3000;
/** Decryption warning: a sender whose frames mostly fail over this window... */
const WARNING_WINDOW_MS = 4000;
/** ...with at least this many failures (a key change costs a few frames; that is no warning)... */
const WARNING_MIN_FAILED = 10;
/** ...making up at least this share of its frames. */
const WARNING_FAILED_SHARE = 0.2;
/** Speaker highlight: RMS level (0..1) above which a device counts as speaking, and how long it sticks. */
const SPEAKING_LEVEL = 0.015;
const SPEAKER_HOLD_MS = 1500;

const HOLDING = 'This device sends nothing while it is in the key group.';

/** What each alarm tells people; `id` is the user id it names ("?" if none). */
const ALARM_TEXT: Record<AlarmReason, (id: string) => string> = {
  downgrade: () => 'The server tried to turn end-to-end encryption off. Parley refused: nothing is sent unencrypted.',
  duplicate_member: (id) => `The key group contained user ${id} twice, which only an attack produces. This device refused that group.`,
  unknown_member: (id) => `The key group contains user ${id}, whom the server never announced. Compare the group code aloud before going on.`,
  hidden_member: (id) =>
    `Unknown member ${id} is in the key group but not in the list of participants: the server is hiding a device that can decrypt this call. ${HOLDING}`,
  not_in_group: (id) =>
    `User ${id} is listed as a participant but never joined the key group: the server shows someone who is not really in the call.`,
  key_changed: (id) =>
    `The signature key of user ${id} changed during the call: the server may have put its own key in that participant's place. ${HOLDING}`,
  uncertified: (id) =>
    `User ${id} is in the key group without a valid certificate from a pinned delegation. ${HOLDING}`,
  attestation_mismatch: (id) =>
    `User ${id} says it is in another key group at this epoch: the server has split the call. ${HOLDING}`,
  attestation_silent: (id) =>
    `User ${id} did not confirm the key group in time: the server may have split the call. ${HOLDING}`,
  pins: () => `This device has no trusted pins from its own delegation, or the summit shows other pins. ${HOLDING}`,
  record_altered: () => 'The server altered an entry of the record: this copy keeps the entries that verify.',
  record_reordered: () => 'The server sent the record\'s entries out of order.',
  record_dropped: () => 'The server withheld an entry of the record.',
  record_forked: () => 'The server shows another record to another member: the record is forked.',
};

/** Identity alarms carry the check's own words (who, and why), which say more than a fixed text. */
const DETAILED: ReadonlySet<AlarmReason> = new Set<AlarmReason>([
  'uncertified',
  'attestation_mismatch',
  'attestation_silent',
  'pins',
  'record_altered',
  'record_reordered',
  'record_dropped',
  'record_forked',
]);

function alarmText(reason: AlarmReason, detail: string, userId: string | null): string {
  if (!DETAILED.has(reason)) return ALARM_TEXT[reason](userId ?? '?');
  const words = detail.charAt(0).toUpperCase() + detail.slice(1);
  // The record's alarms hold no media: the record keeps only what verifies, and says what the server did.
  return reason.startsWith('record_') ? `${words.replace(/[.]$/, '')}.` : `${words.replace(/[.]$/, '')}. ${HOLDING}`;
}

/** A link tag as the server sends it: opaque, short. */
function linkTag(value: unknown): string | null {
  return typeof value === 'string' && /^[0-9a-zA-Z_-]{1,64}$/.test(value) ? value : null;
}

/** Refusals of a publish into a channel: a policy answer, so publishing again would not help. */
const CHANNEL_REFUSALS: ReadonlySet<ErrorCode | 'closed'> = new Set<ErrorCode>(['channel_forbidden', 'audio_only', 'no_such_channel']);

/** DAVE refusals that only mean a lost race (a commit crossed another): part of normal operation. */
const LOST_RACES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(LOST_RACE_CODES);

/** What went wrong with a request, for a log line or a notice: the code, or what else failed. */
function failure(err: unknown): { code: ErrorCode | 'closed' | null; text: string } {
  if (err instanceof RequestFailed) return { code: err.code, text: err.message || err.code };
  return { code: null, text: err instanceof Error ? err.message : String(err) };
}

/** Who a device is, as the lobby and the roster both say it. */
function who(entry: DeviceInfo): Omit<Waiting, 'removedEarlier'> {
  return {
    userId: String(entry.user_id),
    delegationId: entry.delegation_id,
    delegation: entry.delegation,
    role: entry.role,
    people: [...entry.people],
  };
}

function waiting(entry: LobbyDevice): Waiting {
  return { ...who(entry), removedEarlier: entry.removed_earlier };
}

/** What certified mode checks of a roster entry. */
function person(p: Participant): RosterPerson {
  return { userId: p.userId, delegationId: p.delegationId, delegation: p.delegation, role: p.role as RosterPerson['role'], people: p.people, language: p.language };
}

function participant(device: DeviceInfo): Participant {
  return {
    ...who(device),
    publishing: device.publishing ?? false,
    language: device.language ?? null,
    key: device.key,
    link: linkTag(device.link),
  };
}

interface SubscriptionEntry {
  subscription: Subscription;
  /** The server took our answer (`ok` to subscribe_answer): media flows. */
  answered: boolean;
}

export class Call {
  connection: ConnectionState = 'connecting';
  /** Why the call cannot go on (a refused invitation, no encryption); null while it can. */
  fatal: string | null = null;
  userId: string | null = null;
  self: Participant | null = null;
  summit: SummitInfo | null = null;
  roster: Participant[] = [];
  session: SessionSnapshot | null = null;
  /** Every alarm raised, once per reason and member (they stay up: an attack is not forgotten when it stops). */
  alarms: Alarm[] = [];
  /** Devices of the roster whose link came with another key before ("new key since last call"). */
  newKeys = new Set<string>();
  /** This profile's DAVE signature public key, once the worker has it. */
  publicKey: string | null = null;
  /** False: the browser keeps no key between visits (no IndexedDB), so this device's codes change on reload. */
  keyKept = true;
  decryptFailures = 0;
  keyFramesSent = 0;
  /** Frames our senders dropped: no key yet, or media held. */
  unsentFrames = 0;
  /** Frames that arrived while we were still joining the key group (dropped, expected). */
  earlyFrames = 0;
  peers: Record<string, PeerStats> = {};
  /** How well each remote device is received, and when its video last advanced (quality.ts). */
  private readonly meters = new Map<string, QualityMeter>();
  speaker: string | null = null;
  reconnectAttempt = 0;
  /** In the call: admitted by the host (or at `ready`). Until then the device waits in the lobby. */
  admitted = false;
  /** `ready` received on the current connection (we know whether we wait in the lobby). */
  identified = false;
  /** May this device admit others (host; a delegation head with "delegation_head" admission)? */
  canAdmit = false;
  readonly course = new CourseState();
  /** Devices waiting in the lobby (sent to devices that may admit only). */
  lobby: Waiting[] = [];
  /** Set when the server ended the stay (refused, locked, removed, opening or summit ended). */
  ending: Ending | null = null;
  /** The last refusal of a host control (shown in the host panel until the next control). */
  hostNotice: string | null = null;
  /** The summit requires certified devices (the organiser pinned each delegation's key). */
  pinned = false;
  /** Certified mode: pinned, and the link names the own delegation. */
  certifiedMode = false;
  /** Certified mode's state from the worker (verdicts, pins, hold). */
  identity: IdentityView | null = null;
  /** Waiting for this device's certificate (not in the roster or the lobby); null when not. */
  enrollment: Enrollment | null = null;
  /** This device holds a certificate it accepted (kept for the summit). */
  certified = false;
  /** The summit's record, in a certified summit, on a device that reads it (not press); one per connection. */
  record: RecordSession | null = null;
  /** Enrollment requests sent from this page. */
  enrollments = 0;
  /** Measured cost of the frame layer in the worker: totals since the call started. */
  readonly cost = { encryptFrames: 0, encryptMs: 0, encryptMaxMs: 0, decryptFrames: 0, decryptMs: 0, decryptMaxMs: 0 };
  /** Channels, booths and this device's choice of what to hear. */
  readonly listening: Listening;
  /** Every remote sound plays through this mix (tiles' videos are muted). */
  readonly mix: Mixer;
  /** Test hooks: the mix analysed (`ear` in the test state). */
  private ear: EarProbe | null = null;

  private readonly e2ee: E2eeManager;
  private socket: SignalingSocket | null = null;
  private generation = 0;
  /** Has any connection of this stay been in the call (a drop then shows "Reconnecting")? */
  private wasInCall = false;
  /** An ending announced by an `error` op; the close that follows makes it final. */
  private pendingEnding: Ending | null = null;
  /** The server runs with test hooks (from `ready`; the test switches act only then). */
  private testHooks = false;
  /** The certificate presented in `identify` on the current connection, and the claim `ready` made. */
  private presented: string | null = null;
  private claim: ClaimFields | null = null;
  /** How often a kept certificate was dropped: an acceptance that ran across a drop counts for nothing. */
  private dropped = 0;
  private left = false;
  private iceServers: RTCIceServer[] = [];
  private publisher: Publisher | null = null;
  private readonly subscriptions = new Map<string, SubscriptionEntry>();
  /** Feeds the server refused on this connection: the code, and when (asked for again after SUBSCRIBE_RETRY_MS). */
  private readonly refusedFeeds = new Map<string, { code: string; at: number }>();
  /** How often each feed was asked for on this connection (test state). */
  private subscribeRequests: Record<string, number> = {};
  /** The boundary check of every text frame the server sends; it counts what it refuses (test state). */
  private readonly frames = new ServerFrames();
  private frameWindow: { at: number; senders: Record<string, SenderFrameCounts> }[] = [];
  private warning = false;
  private readonly energy = new Map<string, { energy: number; duration: number }>();
  private speakerSince = 0;
  private poller: number | null = null;
  private reconnectTimer: number | null = null;
  private readonly listeners = new Set<() => void>();
  /** Who sees every op the server sends this device, `ready` included (the officer console). */
  private readonly opWatchers = new Set<(op: ServerOp) => void>();
  private readonly keyMemory: KeyMemory;

  /** Construct it in the Join click: the AudioContext starts then, without an autoplay block. */
  constructor(private readonly options: CallOptions) {
    this.listening = new Listening(options.summitId);
    this.keyMemory = new KeyMemory(options.summitId);
    this.mix = new Mixer(() => this.changed());
    this.e2ee = new E2eeManager({
      send: (messages) => {
        for (const message of messages) this.socket?.sendDave(message);
      },
      session: (snapshot) => {
        this.session = snapshot;
        this.changed();
      },
      alarm: (reason, detail, userId) => {
        console.warn(`parley: encryption alarm (${reason}): ${detail}`);
        this.raise({ reason, userId, text: alarmText(reason, detail, userId) });
      },
      frameStats: (report) => this.onFrameStats(report),
      error: (detail) => console.warn(`parley: a DAVE op was not handled: ${detail}`),
      identity: (view) => {
        this.identity = view;
        this.changed();
      },
      attest: (attestation) => {
        this.socket?.request('attest', { attestation }).catch((err: unknown) => {
          const { code, text } = failure(err);
          if (code !== 'closed') console.warn(`parley: the server refused this device's attestation: ${code ?? text}`);
        });
      },
    });
  }

  // -- observers ---------------------------------------------------------------------------

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** Every op the server sends this device from now on, `ready` included, before the call acts on it. */
  watchOps(watcher: (op: ServerOp) => void): () => void {
    this.opWatchers.add(watcher);
    return () => this.opWatchers.delete(watcher);
  }

  /** An officer console's request (ui/officerConsole.ts): the server's answer, or RequestFailed with its refusal. */
  officerRequest<K extends OfficerOp>(op: K, d: RequestMessage<K>['d']): Promise<AnswerTo<K>> {
    if (!this.socket) return Promise.reject(new RequestFailed(op, 'closed', 'not connected'));
    return this.socket.request(op, d);
  }

  /** Once per reason and member; a later word on the same (an epoch check's verdict after a proposal's refusal) replaces the text. */
  private raise(alarm: Alarm): void {
    const raised = this.alarms.find((a) => a.reason === alarm.reason && a.userId === alarm.userId);
    if (raised === undefined) this.alarms.push(alarm);
    else raised.text = alarm.text;
    this.changed();
  }

  /** Every device of the key group and of the roster, with its status, as the worker last said. */
  get members(): MemberView[] {
    return this.session?.members ?? [];
  }

  statusOf(userId: string): MembershipStatus | null {
    return this.members.find((m) => m.userId === userId)?.status ?? null;
  }

  get encryption(): EncryptionState {
    if (this.alarms.length > 0) return 'alarm';
    if (!this.session?.canSend) return 'establishing';
    return this.warning ? 'warning' : 'encrypted';
  }

  /** Are we the only device here (so there is no group to join yet)? */
  get alone(): boolean {
    return this.roster.filter((p) => p.userId !== this.userId).length === 0;
  }

  get media(): LocalMedia {
    return this.options.media;
  }

  /** A press device: view-only (no camera or microphone, never publishes). */
  get press(): boolean {
    return (this.self?.role ?? this.options.role) === 'press';
  }

  get host(): boolean {
    return this.self?.role === 'host';
  }

  /** An interpreter: microphone only, into its language's channel; the console drives its booth. */
  get interpreter(): boolean {
    return (this.self?.role ?? this.options.role) === 'interpreter';
  }

  /** Waiting in the lobby: identified, not admitted, not enrolling, not over. */
  get inLobby(): boolean {
    return this.identified && !this.admitted && this.enrollment === null && this.connection !== 'closed';
  }

  /** Waiting for this device's certificate: identified, not admitted, not over. */
  get enrolling(): boolean {
    return this.identified && !this.admitted && this.enrollment !== null && this.connection !== 'closed';
  }

  /** What a tile plays: our own preview, or what we receive from that device. */
  streamFor(userId: string): MediaStream | null {
    if (userId === this.userId) return this.options.media.stream;
    const entry = this.subscriptions.get(userId);
    return entry?.answered ? entry.subscription.stream : null;
  }

  /** Is there a moving picture to show for this device? */
  hasPicture(userId: string): boolean {
    if (userId === this.userId) return this.options.media.cameraEnabled && this.options.media.videoTrack !== null;
    return this.meters.get(userId)?.moving(performance.now()) ?? false;
  }

  /** How well this device receives `userId` (null: not measured yet). */
  qualityOf(userId: string): LinkQuality | null {
    return this.meters.get(userId)?.quality() ?? null;
  }

  /**
   * In the call, but a path is down: the signalling socket reconnects, or ICE lost the server on
   * the device's own connection or on every one it receives (one feed's trouble is its tile's).
   */
  get reconnecting(): boolean {
    if (this.connection === 'reconnecting') return true;
    if (this.connection !== 'connected' || !this.admitted) return false;
    const received = [...this.subscriptions.values()].filter((e) => e.answered).map((e) => e.subscription.pc);
    return pathDown(this.publisher?.pc ?? null) || (received.length > 0 && received.every(pathDown));
  }

  testState(): TestState {
    return {
      connection: this.connection,
      encryption: this.encryption,
      groupCode: this.session?.groupCode ?? null,
      userId: this.userId,
      roster: this.roster.map((p) => ({ userId: p.userId, delegation: p.delegation, people: [...p.people], publishing: p.publishing })),
      alarms: this.alarms.map((a) => ({ reason: a.reason, userId: a.userId })),
      members: this.members.map((m) => ({ ...m })),
      held: this.session?.held ?? false,
      newKeys: [...this.newKeys],
      publicKey: this.publicKey,
      decryptFailures: this.decryptFailures,
      keyFramesSent: this.keyFramesSent,
      peers: structuredClone(this.peers),
      quality: Object.fromEntries([...this.meters.keys()].flatMap((id) => {
        const q = this.qualityOf(id);
        return q ? [[id, q]] : [];
      })),
      reconnecting: this.reconnecting,
      admitted: this.admitted,
      phase: this.course.phase,
      lobby: this.lobby.map((w) => w.userId),
      ended: this.ending?.code ?? null,
      identity: this.certifiedMode
        ? {
            pins: this.identity?.pins ?? 'missing',
            summary: this.identity?.summary ?? null,
            verdicts: (this.identity?.verdicts ?? []).map((v) => ({ userId: v.userId, delegation: v.delegation, problem: v.problem })),
            enrolling: this.enrolling,
            code: this.enrollment?.code ?? null,
            enrollments: this.enrollments,
            certified: this.certified,
          }
        : null,
      clockWarnings: [...this.course.warnings],
      overrun: this.course.info?.overrun ?? false,
      channel: this.listening.channel,
      language: this.listening.ownLanguage,
      booths: this.listening.booths.map((b) => ({ ...b, interpreters: [...b.interpreters] })),
      gains: this.mix.gains(),
      coughing: this.listening.coughing,
      ear: this.ear?.reading() ?? null,
      sound: this.mix.running,
      invalidOps: this.frames.refused,
      subscribeRequests: { ...this.subscribeRequests },
      refusedFeeds: Object.fromEntries([...this.refusedFeeds].map(([feed, { code }]) => [feed, code])),
      record: this.record && {
        state: this.record.recordState,
        length: this.record.length,
        caughtUp: this.record.caught,
        hasKey: this.record.hasKey,
        signer: this.record.signer,
        sealedBy: this.record.sealedBy,
        refused: [...this.record.refused],
      },
    };
  }

  // -- lifecycle ---------------------------------------------------------------------------

  /** Connect and identify; resolves once davey has loaded (or rejects: no call without encryption). */
  async join(): Promise<void> {
    this.poller = window.setInterval(() => void this.poll(), POLL_MS);
    this.connect();
    try {
      await this.e2ee.loaded;
    } catch (err) {
      this.end(`End-to-end encryption could not start in this browser (${err instanceof Error ? err.message : String(err)}). Parley sends nothing unencrypted, so the call cannot start.`);
      throw err;
    }
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    this.socket?.leave();
    this.socket?.close();
    this.socket = null;
    this.stopEverything();
    this.setConnection('closed');
  }

  private end(reason: string, ending: Ending | null = null): void {
    this.fatal = reason;
    this.ending = ending;
    this.admitted = false;
    this.lobby = [];
    this.left = true;
    this.socket?.close();
    this.socket = null;
    this.stopEverything();
    this.setConnection('closed');
  }

  private stopEverything(): void {
    this.record?.close();
    this.teardownMedia();
    this.e2ee.stop();
    this.session = null;
    if (this.poller !== null) window.clearInterval(this.poller);
    if (this.reconnectTimer !== null) window.clearTimeout(this.reconnectTimer);
    this.poller = null;
    this.reconnectTimer = null;
    this.options.media.stop();
    this.ear?.stop();
    this.ear = null;
    this.mix.close();
  }

  private setConnection(state: ConnectionState): void {
    this.connection = state;
    this.changed();
  }

  private connect(): void {
    this.generation += 1;
    const generation = this.generation;
    const current = (): boolean => generation === this.generation && !this.left;
    this.identified = false;
    this.admitted = false;
    this.setConnection(this.wasInCall ? 'reconnecting' : 'connecting');
    const socket = new SignalingSocket(signalingUrl(this.options.summitId, this.options.server), this.frames, {
      // The server derives our user id from the link and this key: identify once the worker has it.
      open: () =>
        void this.e2ee.loaded.then(
          async ({ publicKey, keyKept }) => {
            this.publicKey = publicKey;
            this.keyKept = keyKept;
            let proof: string;
            let certificate: string | null;
            try {
              proof = await this.e2ee.proveKey(this.options.token);
              certificate = await this.keptCertificate();
            } catch (err) {
              // Without the proof the server refuses us; say why rather than wait for its timeout.
              const why = err instanceof Error ? err.message : String(err);
              if (current()) this.end(`This device could not sign in with its key: ${why}`);
              return;
            }
            if (!current()) return;
            this.presented = certificate;
            socket.identify(this.options.token, this.options.people, publicKey, proof, certificate).then(
              (ready) => {
                if (current()) this.onReady(ready, generation);
              },
              (err: unknown) => {
                // Refused at identify (an invitation refused, the summit over...): the server closes next.
                if (current() && err instanceof RequestFailed && err.code !== 'closed') this.pendingEnding = { code: err.code, message: err.message };
              },
            );
          },
          () => undefined, // join() ends the call
        ),
      op: (message) => {
        if (current()) this.onOp(message, generation);
      },
      // DAVE ops come only after admission; anything earlier has no session to go to.
      daveBinary: (frame) => {
        if (current() && this.admitted) this.e2ee.receiveBinary(frame);
      },
      daveJson: (message) => {
        if (current() && this.admitted) this.e2ee.receiveJson(message);
      },
      close: (code, reason) => {
        if (current()) this.onClosed(code, reason);
      },
    });
    this.socket = socket;
  }

  private onClosed(code: number, reason: string): void {
    this.socket = null;
    this.record?.close();
    this.identified = false;
    this.admitted = false;
    this.lobby = [];
    this.enrollment = null;
    this.teardownMedia();
    this.e2ee.stop();
    this.session = null;
    this.roster = [];
    this.frameWindow = [];
    this.warning = false;
    const pending = this.pendingEnding;
    this.pendingEnding = null;
    // Final: a final close code, or any close right after an ending `error` (never reconnect then).
    if (FINAL_CLOSE_CODES.has(code) || (pending !== null && isEndingCode(pending.code))) {
      const ending = pending ?? this.endingForClose(code, reason);
      this.end(ending.message, ending);
      return;
    }
    this.reconnectAttempt += 1;
    const delay = Math.min(MAX_RECONNECT_DELAY_S, 2 ** (this.reconnectAttempt - 1));
    this.setConnection(this.wasInCall ? 'reconnecting' : 'connecting');
    this.reconnectTimer = window.setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.left) this.connect();
    }, delay * 1000);
  }

  /** A final close no `error` op explained: the close reason carries the code (4003), or the code says it. */
  private endingForClose(code: number, reason: string): Ending {
    const known = ENDING_FOR_CLOSE[code];
    if (known) return { code: known, message: '' };
    if (code === CLOSE_REFUSED) {
      const named = /^[a-z_]+$/.test(reason) ? reason : 'invitation_refused';
      return { code: named, message: isEndingCode(named) ? '' : 'The server no longer accepts this invitation link.' };
    }
    return { code: 'closed', message: reason };
  }

  private teardownMedia(): void {
    this.publisher?.close();
    this.publisher = null;
    for (const entry of this.subscriptions.values()) entry.subscription.close();
    this.subscriptions.clear();
    this.refusedFeeds.clear();
    this.subscribeRequests = {};
    this.mix.detachAll();
    this.peers = {};
    this.energy.clear();
    this.speaker = null;
  }

  // -- signalling ops ----------------------------------------------------------------------

  /** Identified: who we are, the summit, its course; in the call at once, or in the lobby until `admitted`. */
  private onReady(ready: ReadyOp, generation: number): void {
    const { device, summit, heartbeat_interval, ice_servers, course, can_admit } = ready.d;
    for (const watch of this.opWatchers) watch(ready);
    this.identified = true;
    this.reconnectAttempt = 0;
    this.userId = String(device.user_id);
    this.self = participant(device);
    this.summit = summit;
    this.listening.configure(device, summit);
    this.iceServers = ice_servers.map((server) => ({ urls: server.urls, username: server.username ?? undefined, credential: server.credential ?? undefined }));
    this.canAdmit = can_admit;
    this.course.update(course);
    this.socket?.startHeartbeat(heartbeat_interval);
    this.startIdentity(ready);
    this.setConnection('connected');
    if (ready.d.admitted) this.enterCall(generation, ready.d.test_hooks);
  }

  // -- certified identities ------------------------------------------------------------------

  /** The certificate kept for this summit, to present in `identify` (certified mode only: the link names the delegation). */
  private async keptCertificate(): Promise<string | null> {
    if (this.options.delegation === null) return null;
    try {
      return (await this.e2ee.identityAsk({ what: 'kept', summitId: this.options.summitId })) || null;
    } catch {
      return null; // no IndexedDB: enroll
    }
  }

  /**
   * At `ready`: in a summit with pins, certified mode starts (the worker's guard, with the pin
   * set `ready` carries); the certificate presented is checked here too, and without one the
   * device enrolls. A summit without pins changes nothing.
   */
  private startIdentity(ready: ReadyOp): void {
    const { device, summit, admitted, pin_set } = ready.d;
    this.pinned = Object.keys(summit.pins).length > 0;
    this.certifiedMode = this.pinned && this.options.delegation !== null;
    this.enrollment = null;
    if (!this.pinned) return;
    const own = this.options.delegation;
    if (own === null) {
      // The server admits no uncertified device here, and without its delegation's fingerprint
      // this device could trust neither its pins nor its certificate.
      if (!admitted) {
        this.enrollment = {
          code: null,
          request: null,
          problem: 'This summit admits certified devices only, and your link does not carry your delegation’s fingerprint. Ask your delegation’s security officer for the full link.',
        };
      }
      return;
    }
    const summitPins = Object.fromEntries(Object.entries(summit.pins).filter((e): e is [string, string] => e[1] !== undefined));
    this.e2ee.startIdentity({ summitId: summit.summit_id, selfId: String(device.user_id), own, summitPins }, pin_set);
    this.claim = {
      summitId: summit.summit_id,
      delegationId: device.delegation_id,
      delegation: device.delegation,
      role: device.role,
      people: [...device.people],
      language: device.language ?? null,
      userId: String(device.user_id),
    };
    this.openRecord(device.user_id, device.role, own, pin_set);
    if (this.presented !== null) void this.takeCertificate(this.presented, true);
    else if (!admitted) void this.enroll();
  }

  // -- the record ---------------------------------------------------------------------------

  /** A fresh record session for this connection (it reads the log again): readers only, the press is none. */
  private openRecord(userId: number, role: string, own: string, pinSet: string | null): void {
    this.record?.close();
    this.record = null;
    const socket = this.socket;
    if (socket === null || this.publicKey === null || role === 'press' || this.summit === null) return;
    const summitId = this.summit.summit_id;
    const ports: RecordPorts = {
      request: (op, d) => socket.request(op, d),
      sign: (document) => async (message) => unbase64url(await this.e2ee.signRecord(document, base64url(message))),
      openGrant: async (text) => unbase64url(await this.e2ee.openRecordGrant(text)),
      alarm: (alarm) => {
        const reason = `record_${alarm.kind}` as const;
        console.warn(`parley: record alarm (${reason}): ${alarm.text}`);
        this.raise({ reason, userId: null, text: alarmText(reason, alarm.text, null) });
      },
      changed: () => this.changed(),
      keep: (readout) => {
        keepRecordCopy(summitId, readout).catch((e: unknown) => console.warn(`parley: the record's copy was not kept: ${String(e)}`));
      },
      epoch: () => BigInt(this.session?.epoch ?? '0'),
      now: () => Date.now(),
      later: (ms, run) => {
        const timer = window.setTimeout(run, ms);
        return () => window.clearTimeout(timer);
      },
    };
    this.record = new RecordSession({ summitId: this.summit.summit_id, userId, deviceKey: unbase64url(this.publicKey), own }, ports);
    void this.record.pinSet(pinSet);
  }

  /** Make the request where the key is, show its code, and send it (`enroll`). */
  private async enroll(): Promise<void> {
    const claim = this.claim;
    const socket = this.socket;
    if (claim === null || socket === null) return;
    this.certified = false;
    this.enrollment = { code: null, request: null, problem: null };
    this.changed();
    try {
      const request = await this.e2ee.identityAsk({ what: 'enroll', claim });
      const code = await EnrollmentRequest.fromText(request).code();
      if (this.socket !== socket) return;
      this.enrollment = { code, request, problem: null };
      this.enrollments += 1;
      this.changed();
      await socket.request('enroll', { request });
    } catch (err) {
      const { code, text } = failure(err);
      if (code === 'closed' || this.socket !== socket) return;
      console.warn(`parley: enrollment failed: ${code ?? text}`);
      this.enrollment = { code: this.enrollment?.code ?? null, request: this.enrollment?.request ?? null, problem: `The server refused the enrollment request: ${text}` };
      this.changed();
    }
  }

  /**
   * A certificate for this device (kept, or just approved): taken only if it certifies exactly
   * this device, by its own delegation, valid now (checked in the worker, which then keeps it).
   * `presented`: it was shown in `identify`; if it is no longer good, the device enrolls again.
   */
  private async takeCertificate(certificate: string, presented: boolean): Promise<void> {
    const claim = this.claim;
    const own = this.options.delegation;
    if (claim === null || own === null) return;
    const dropped = this.dropped;
    try {
      await this.e2ee.identityAsk({ what: 'accept', claim, certificate, own, keep: !presented });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      console.warn(`parley: a certificate for this device was refused: ${why}`);
      if (presented && dropped === this.dropped) await this.dropCertificate();
      return;
    }
    if (dropped !== this.dropped) return; // the server refused it meanwhile: enrolling again
    this.certified = true;
    void this.record?.addCertificate(Number(claim.userId), certificate);
    if (this.enrollment !== null && this.enrollment.problem === null) this.enrollment = null;
    this.changed();
  }

  /** The kept certificate is no good (the server or this device refused it): forget it, enroll again. */
  private async dropCertificate(): Promise<void> {
    this.dropped += 1;
    this.presented = null;
    this.certified = false;
    try {
      await this.e2ee.identityAsk({ what: 'forget', summitId: this.options.summitId });
    } catch {
      // nothing kept to forget
    }
    if (!this.admitted) await this.enroll();
  }

  /** Events, and ops that answer no pending request (answers come to the request that asked: see `request`). */
  private onOp(message: ServerOp, generation: number): void {
    for (const watch of this.opWatchers) watch(message);
    switch (message.op) {
      case 'admitted':
        if (this.identified && !this.admitted) this.enterCall(generation, this.testHooks);
        return;
      case 'course':
        this.course.update(message.d);
        this.changed();
        return;
      case 'clock_warning':
        this.course.warn(message.d.minutes_left);
        this.changed();
        return;
      case 'lobby_joined': {
        const joined = waiting(message.d.device);
        this.lobby = [...this.lobby.filter((w) => w.userId !== joined.userId), joined];
        this.changed();
        return;
      }
      case 'lobby_left': {
        const left = String(message.d.user_id);
        this.lobby = this.lobby.filter((w) => w.userId !== left);
        this.changed();
        return;
      }
      case 'roster':
        this.roster = message.d.devices.map(participant);
        this.self = this.roster.find((p) => p.userId === this.userId) ?? this.self;
        this.e2ee.setRoster(this.roster.map((p) => ({ userId: p.userId, key: p.key })), this.roster.map(person));
        this.noteKeys();
        this.followRoster();
        this.syncMix();
        this.changed();
        return;
      case 'booths':
        this.listening.setBooths(message.d.booths);
        this.reconcileCough();
        this.syncMix(); // the floor ducks under a channel that has someone live
        this.changed();
        return;
      case 'keyframe':
        this.e2ee.keyFrame();
        return;
      case 'media_reset':
        // Janus restarted: everything media is gone; DAVE keys are not affected.
        this.teardownMedia();
        this.changed();
        if (this.admitted && !this.press) void this.publish(generation);
        return;
      case 'error':
        this.onError(message.d.code, message.d.message, message.d.op);
        return;
      case 'certificate': {
        if (!this.certifiedMode) return;
        const userId = String(message.d.user_id);
        this.e2ee.identityDocument({ op: 'certificate', userId, text: message.d.certificate });
        void this.record?.addCertificate(message.d.user_id, message.d.certificate);
        if (userId === this.userId && this.enrollment !== null) void this.takeCertificate(message.d.certificate, false);
        return;
      }
      case 'revocations':
        if (this.certifiedMode) this.e2ee.identityDocument({ op: 'revocations', text: message.d.revocations });
        void this.record?.revocationList(message.d.revocations);
        return;
      case 'pins':
        if (this.certifiedMode) this.e2ee.identityDocument({ op: 'pins', text: message.d.pin_set });
        void this.record?.pinSet(message.d.pin_set);
        return;
      case 'attestation':
        if (this.certifiedMode) this.e2ee.identityDocument({ op: 'attestation', text: message.d.attestation });
        return;
      case 'enrollment_request':
        return; // for officer consoles; this page is none
      case 'record_entry':
      case 'record_grant':
      case 'record_head':
      case 'record_state':
      case 'signers':
        void this.record?.receive(message);
        return;
      case 'record_entries':
      case 'ready':
      case 'publish_answer':
      case 'subscribe_offer':
      case 'heartbeat_ack':
      case 'ok':
        // An answer to a request no longer pending (it timed out, or its connection is gone).
        console.debug(`parley: a late ${message.op} answered no pending request`);
        return;
    }
  }

  /** Admitted (at `ready`, or by `admitted`): start the DAVE session, publish (not press), subscribe. */
  private enterCall(generation: number, testHooks: boolean): void {
    if (this.userId === null || this.summit === null) return;
    this.admitted = true;
    this.wasInCall = true;
    this.testHooks = testHooks;
    if (testHooks && this.ear === null) this.ear = new EarProbe(this.mix.ear);
    // Test only: another group id; davey does not bind a Welcome to the channel, so the member
    // also decrypts under keys it does not hold (the point is that nothing undecryptable plays).
    // The switch acts only when the server says it runs with test hooks: a crafted link can't.
    const wrong = this.options.testWrongGroup && testHooks;
    if (this.options.testNoTransform && testHooks) {
      this.e2ee.withoutTransforms = true;
      this.raise({ reason: 'no_transform', userId: null, text: 'Benchmark mode: this device sends and receives media WITHOUT end-to-end encryption.' });
    }
    const channel = BigInt(this.summit.channel_id) + (wrong ? 1n : 0n);
    this.e2ee.start(this.userId, channel.toString(), wrong);
    this.e2ee.setRoster(this.roster.map((p) => ({ userId: p.userId, key: p.key })), this.roster.map(person));
    this.changed();
    if (!this.press) void this.publish(generation); // press devices never publish
    this.followRoster();
  }

  /** An `error` that answers no request: the end of the stay, a DAVE refusal, or a frame the server could not read. */
  private onError(code: ErrorCode, text: string, op: string | number | null): void {
    if (op === 'identify' && code === 'invalid' && this.certifiedMode && this.presented !== null) {
      // The server found the certificate this device kept no longer good: enroll again.
      console.warn(`parley: the server refused this device's certificate: ${text}`);
      void this.dropCertificate();
      return;
    }
    if (isEndingCode(code)) {
      // The end of the stay: the server closes next, and nothing reconnects.
      console.info(`parley: the server ends this stay: ${code}`);
      this.pendingEnding = { code, message: text };
      return;
    }
    // Lost commit races and the like are part of DAVE's normal operation.
    (LOST_RACES.has(code) ? console.debug : console.warn)(`parley: the server refused ${String(op)}: ${code}`);
  }

  // -- host controls -----------------------------------------------------------------------

  /** A host control; its refusal (forbidden, phase_order...) shows in the host panel, and the stay goes on. */
  private sendHost<K extends 'admit' | 'refuse' | 'remove' | 'revoke' | 'lock' | 'advance' | 'allow_overrun'>(op: K, d: RequestMessage<K>['d']): void {
    this.hostNotice = null;
    this.socket?.request(op, d).catch((err: unknown) => {
      const { code, text } = failure(err);
      if (code === 'closed') return;
      console.warn(`parley: the server refused ${op}: ${code ?? text}`);
      this.hostNotice = text;
      this.changed();
    });
    this.changed();
  }

  admit(userId: string): void {
    this.sendHost('admit', { user_id: Number(userId) });
  }

  refuse(userId: string): void {
    this.sendHost('refuse', { user_id: Number(userId) });
  }

  remove(userId: string): void {
    this.sendHost('remove', { user_id: Number(userId) });
  }

  /** Revoke the link that device joined with (host): all its devices leave, and it admits no one. */
  revoke(userId: string): void {
    this.sendHost('revoke', { user_id: Number(userId) });
  }

  setLocked(locked: boolean): void {
    this.sendHost('lock', { locked });
  }

  /** The step to the next phase (the panel offers only that one; `scheduled` is no step). */
  advance(phase: Exclude<Phase, 'scheduled'>): void {
    this.sendHost('advance', { phase });
  }

  allowOverrun(): void {
    this.sendHost('allow_overrun', {});
  }

  private current(generation: number): boolean {
    return generation === this.generation && !this.left && this.socket !== null;
  }

  private async publish(generation: number): Promise<void> {
    try {
      await this.e2ee.loaded; // transforms only once davey is ready in the worker
    } catch {
      return; // join() ends the call
    }
    // Never from the lobby, never from a press device (the server refuses it too).
    if (!this.current(generation) || this.userId === null || !this.admitted || this.press) return;
    this.publisher?.close();
    const media = this.options.media;
    // An interpreter publishes its microphone only, into its own language's channel.
    const channel = this.interpreter ? this.listening.ownLanguage : null;
    const publisher = new Publisher(this.iceServers, media.audioTrack, media.videoTrack, this.e2ee, this.userId, this.interpreter);
    this.publisher = publisher;
    try {
      const offer = await publisher.offer();
      if (!this.current(generation) || this.publisher !== publisher) return;
      if (!this.socket) return;
      const answer = await this.socket.request('publish', channel === null ? { sdp: offer } : { sdp: offer, channel });
      if (this.publisher !== publisher) return;
      await publisher.accept(answer.d.sdp);
    } catch (err) {
      if (!this.current(generation) || this.publisher !== publisher) return;
      const { code, text } = failure(err);
      publisher.close();
      this.publisher = null;
      if (code !== null && CHANNEL_REFUSALS.has(code)) {
        // The server's policy, not a glitch: the console says so, and publishing again would not help.
        console.warn(`parley: the server refused this device's channel (${code}); not retrying`);
        this.listening.notice = refusalText(code, text);
        this.changed();
        return;
      }
      console.warn(`parley: publishing failed (${code ?? text}); retrying`);
      window.setTimeout(() => {
        if (this.current(generation) && this.publisher === null) void this.publish(generation);
      }, PUBLISH_RETRY_MS);
    }
  }

  /**
   * Subscribe to every other device that publishes and that this device hears (the floor, and
   * the chosen channel's interpreters); drop what is gone, stopped publishing or is another
   * channel. Nothing from the lobby; a press device follows delegation devices only (not other press).
   */
  private followRoster(): void {
    const now = performance.now();
    const press = this.press;
    const wanted = (p: Participant): boolean =>
      p.publishing && p.userId !== this.userId && !(press && p.role === 'press') && this.listening.hears(p);
    let publishing = new Set(this.admitted ? this.roster.filter(wanted).map((p) => p.userId) : []);
    const extra = this.options.testAlsoSubscribe;
    // Test only (server with test hooks): first, so that its refusal comes while the others are pending.
    if (extra !== null && this.testHooks && this.admitted) publishing = new Set([extra, ...publishing]);
    for (const feed of this.subscriptions.keys()) if (!publishing.has(feed)) this.dropSubscription(feed);
    for (const feed of publishing) {
      const refused = this.refusedFeeds.get(feed);
      if (this.subscriptions.has(feed) || !this.socket || (refused && now - refused.at < SUBSCRIBE_RETRY_MS)) continue;
      this.refusedFeeds.delete(feed);
      const entry: SubscriptionEntry = { subscription: new Subscription(feed, this.iceServers, this.e2ee), answered: false };
      this.subscriptions.set(feed, entry);
      this.subscribeRequests[feed] = (this.subscribeRequests[feed] ?? 0) + 1;
      const generation = this.generation;
      this.socket.request('subscribe', { feed: Number(feed) }).then(
        (offer) => this.acceptOffer(feed, entry, offer.d, generation),
        (err: unknown) => this.subscriptionFailed(feed, entry, err),
      );
    }
  }

  /** Stop receiving a feed: its peer connection, its sound in the mix, its stats. */
  private dropSubscription(feed: string): void {
    this.subscriptions.get(feed)?.subscription.close();
    this.subscriptions.delete(feed);
    this.mix.detach(feed);
    delete this.peers[feed];
    this.energy.delete(feed);
  }

  /** The offer the server made for `feed`: answer it, and once the server took the answer, play it. */
  private async acceptOffer(feed: string, entry: SubscriptionEntry, offer: { feed: number; sdp: string }, generation: number): Promise<void> {
    if (this.subscriptions.get(feed) !== entry) return; // no longer wanted
    try {
      if (String(offer.feed) !== feed) throw new Error(`the offer is for feed ${offer.feed}`);
      await this.e2ee.loaded;
      const answer = await entry.subscription.answer(offer.sdp);
      if (!this.current(generation) || this.subscriptions.get(feed) !== entry || !this.socket) return;
      await this.socket.request('subscribe_answer', { feed: Number(feed), sdp: answer });
      if (this.subscriptions.get(feed) !== entry) return;
      entry.answered = true;
      this.syncMix();
      this.changed();
    } catch (err) {
      this.subscriptionFailed(feed, entry, err);
    }
  }

  /** This subscription failed (refused, timed out, or its offer unusable): drop it alone; the others go on. */
  private subscriptionFailed(feed: string, entry: SubscriptionEntry, err: unknown): void {
    if (this.subscriptions.get(feed) !== entry) return;
    const { code, text } = failure(err);
    if (code === 'closed') return; // the connection's teardown drops it
    console.warn(`parley: no subscription to a feed (${code ?? text}); asking again later`);
    this.dropSubscription(feed);
    this.refusedFeeds.set(feed, { code: code ?? 'failed', at: performance.now() });
    this.changed();
  }

  // -- local media -------------------------------------------------------------------------

  setMicEnabled(on: boolean): void {
    this.options.media.setMicEnabled(on);
    this.changed();
  }

  async setCameraEnabled(on: boolean): Promise<void> {
    const track = await this.options.media.setCameraEnabled(on);
    await this.publisher?.replaceTrack('video', track);
    this.changed();
  }

  // -- interpretation ----------------------------------------------------------------------

  /** Hear the floor (null) or a language channel; an interpreter chooses its source. Kept on the device. */
  listen(channel: Channel): void {
    if (!this.listening.choose(channel)) return;
    this.followRoster();
    this.syncMix();
    this.changed();
  }

  /** A booth control; its refusal (booth_busy, not_live...) shows on the console in words. */
  private sendBooth<K extends 'take_over' | 'hand_over' | 'cough'>(op: K, d: RequestMessage<K>['d'], clearNotice = true): void {
    if (clearNotice) this.listening.notice = null;
    this.socket?.request(op, d).catch((err: unknown) => {
      const { code, text } = failure(err);
      if (code === 'closed') return;
      console.warn(`parley: the server refused ${op}: ${code ?? text}`);
      this.listening.notice = refusalText(code ?? 'failed', text);
      this.changed();
    });
    this.changed();
  }

  takeOver(): void {
    this.sendBooth('take_over', {});
  }

  handOver(): void {
    this.sendBooth('hand_over', {});
  }

  /**
   * The cough key: the microphone track is disabled at once (nothing leaves this device), and
   * the server is told (it keeps the key per interpreter, and stops forwarding a live one's voice).
   */
  setCough(down: boolean): void {
    if (down === this.listening.coughing) return;
    this.options.media.setMicEnabled(!down);
    this.listening.cough(down);
    this.sendBooth('cough', { muted: down });
  }

  /** After a booths update: the server's cough state follows the key (it went live with the key down). */
  private reconcileCough(): void {
    const muted = this.listening.coughToSend();
    if (muted !== null) this.sendBooth('cough', { muted }, false);
  }

  /** Every answered subscription's audio into the mix, at the gain the channel choice and the booths give it. */
  private syncMix(): void {
    const byId = new Map(this.roster.map((p) => [p.userId, p]));
    for (const feed of this.mix.feeds()) if (!this.subscriptions.get(feed)?.answered) this.mix.detach(feed);
    for (const [feed, entry] of this.subscriptions) {
      if (!entry.answered) continue;
      const track = entry.subscription.stream.getAudioTracks()[0];
      if (!track) continue;
      const p = byId.get(feed);
      this.mix.attach(feed, track, p ? this.listening.gain(p) : 0);
    }
  }

  // -- verification ------------------------------------------------------------------------

  pairwiseCode(userId: string): Promise<string> {
    return this.e2ee.pairwiseCode(userId);
  }

  // -- frames and stats --------------------------------------------------------------------

  /** A device on a link this browser saw before with another key: a new profile, machine, or holder. */
  private noteKeys(): void {
    for (const p of this.roster) {
      if (p.userId === this.userId || p.link === null || p.key === null) continue;
      if (this.keyMemory.isNewKey(p.link, p.key)) this.newKeys.add(p.userId);
    }
  }

  private onFrameStats(report: FrameStatsMessage): void {
    this.frameWindow.push({ at: performance.now(), senders: report.senders });
    this.unsentFrames += report.unsent;
    for (const counts of Object.values(report.senders)) {
      this.decryptFailures += counts.failed;
      this.earlyFrames += counts.early;
    }
    const c = this.cost;
    c.encryptFrames += report.encrypt.frames;
    c.encryptMs += report.encrypt.ms;
    c.encryptMaxMs = Math.max(c.encryptMaxMs, report.encrypt.maxMs);
    c.decryptFrames += report.decrypt.frames;
    c.decryptMs += report.decrypt.ms;
    c.decryptMaxMs = Math.max(c.decryptMaxMs, report.decrypt.maxMs);
    this.evaluateWarning();
  }

  private evaluateWarning(): void {
    const now = performance.now();
    this.frameWindow = this.frameWindow.filter((entry) => now - entry.at < WARNING_WINDOW_MS);
    const totals = new Map<string, { failed: number; decrypted: number }>();
    for (const entry of this.frameWindow) {
      for (const [sender, counts] of Object.entries(entry.senders)) {
        const t = totals.get(sender) ?? { failed: 0, decrypted: 0 };
        t.failed += counts.failed;
        t.decrypted += counts.decrypted;
        totals.set(sender, t);
      }
    }
    const warning = [...totals.values()].some(
      (t) => t.failed >= WARNING_MIN_FAILED && t.failed >= WARNING_FAILED_SHARE * (t.failed + t.decrypted),
    );
    if (warning !== this.warning) {
      this.warning = warning;
      this.changed();
    }
  }

  private async poll(): Promise<void> {
    this.evaluateWarning();
    if (this.left) return;
    const levels = new Map<string, number>();
    const level = (id: string, energy: number, duration: number): void => {
      const before = this.energy.get(id);
      this.energy.set(id, { energy, duration });
      if (!before || duration <= before.duration) return;
      levels.set(id, Math.sqrt(Math.max(0, energy - before.energy) / (duration - before.duration)));
    };
    const peers: Record<string, PeerStats> = {};
    await Promise.all(
      [...this.subscriptions].map(async ([feed, entry]) => {
        if (!entry.answered) return;
        try {
          const s = await entry.subscription.stats();
          peers[feed] = { framesDecoded: s.framesDecoded, audioSamplesReceived: s.audioSamplesReceived };
          level(feed, s.audioEnergy, s.audioDuration);
          let meter = this.meters.get(feed);
          if (meter === undefined) {
            meter = new QualityMeter();
            this.meters.set(feed, meter);
          }
          meter.add({ at: performance.now(), packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, framesDecoded: s.framesDecoded, roundTripMs: s.roundTripMs });
        } catch {
          // closed meanwhile
        }
      }),
    );
    if (this.publisher && this.userId && this.options.media.micEnabled) {
      try {
        const own = await this.publisher.audioLevel();
        if (own) level(this.userId, own.energy, own.duration);
      } catch {
        // closed meanwhile
      }
    }
    if (this.publisher) {
      try {
        this.keyFramesSent = await this.publisher.keyFramesSent();
      } catch {
        // closed meanwhile
      }
    }
    this.peers = peers;
    for (const feed of this.meters.keys()) if (!(feed in peers)) this.meters.delete(feed);
    this.pickSpeaker(levels);
    this.followRoster(); // retries subscriptions the server did not answer
    this.syncMix();
    this.changed();
  }

  private pickSpeaker(levels: Map<string, number>): void {
    const now = performance.now();
    let loudest: string | null = null;
    let loudestLevel = SPEAKING_LEVEL;
    // The speaker is someone on the floor: an interpreter's voice is a channel, not a tile.
    const channels = new Set(this.roster.filter((p) => p.language !== null).map((p) => p.userId));
    for (const [id, value] of levels) {
      if (channels.has(id)) continue;
      if (value > loudestLevel) {
        loudest = id;
        loudestLevel = value;
      }
    }
    if (loudest !== null) {
      this.speaker = loudest;
      this.speakerSince = now;
    } else if (this.speaker !== null && now - this.speakerSince > SPEAKER_HOLD_MS) {
      this.speaker = null;
    }
  }
}
