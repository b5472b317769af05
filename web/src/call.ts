/**
 * One device's stay in a summit's call: the signalling connection, the DAVE session (in the
 * worker, through `E2eeManager`), the publisher and one subscription per other device.
 *
 * It follows the server: `ready` admits us (and gives our user id), `roster` says who is there
 * and who publishes (subscribe then), `media_reset` means publish again. When the connection
 * drops it rejoins with the same invitation as a new device (new user id, new DAVE session),
 * backing off up to `MAX_RECONNECT_DELAY_S`; a refused invitation ends the call instead.
 */

import { E2eeManager } from './e2ee/manager';
import type { AlarmReason, FrameStatsMessage, SenderFrameCounts, SessionSnapshot } from './e2ee/messages';
import type { LocalMedia } from './localMedia';
import { Publisher, Subscription } from './media';
import {
  CLOSE_INVITATION,
  SignalingSocket,
  signalingUrl,
  type DeviceInfo,
  type ServerOp,
  type SummitInfo,
} from './signaling';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';
export type EncryptionState = 'establishing' | 'encrypted' | 'warning' | 'alarm';

export interface Participant {
  userId: string;
  delegationId: string;
  delegation: string;
  role: string;
  people: string[];
  publishing: boolean;
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
  decryptFailures: number;
  peers: Record<string, PeerStats>;
}

export interface CallOptions {
  summitId: string;
  token: string;
  people: string[];
  media: LocalMedia;
  /** Test only: use channel id + 1 for the DAVE group, so this device's keys are wrong. */
  testWrongGroup: boolean;
  /** Benchmark only: no frame transforms at all, to measure what E2EE costs. The UI says so. */
  testNoTransform: boolean;
}

const MAX_RECONNECT_DELAY_S = 10;
/** Stats (decoded frames, audio levels) are polled this often. */
const POLL_MS = 500;
/** A subscription the server has not offered within this time is asked for again. */
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
/** A remote picture that has not advanced for this long is shown as "no picture". */
const PICTURE_STALL_MS = 2500;

const ALARM_TEXT: Record<AlarmReason, string> = {
  downgrade: 'The server tried to turn end-to-end encryption off. Parley refused: nothing is sent unencrypted.',
  duplicate_member: 'The key group contained one device twice, which only an attack produces. This device refused that group.',
  unknown_member: 'The key group contains a device the server never announced. Compare the group code aloud before going on.',
};

function participant(device: DeviceInfo): Participant {
  return {
    userId: String(device.user_id),
    delegationId: device.delegation_id,
    delegation: device.delegation,
    role: device.role,
    people: [...device.people],
    publishing: device.publishing,
  };
}

interface SubscriptionEntry {
  subscription: Subscription;
  requestedAt: number;
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
  /** The first alarm raised (they stay up: an attack is not forgotten when it stops). */
  alarm: string | null = null;
  alarmReason: AlarmReason | null = null;
  decryptFailures = 0;
  /** Frames that arrived while we were still joining the key group (dropped, expected). */
  earlyFrames = 0;
  peers: Record<string, PeerStats> = {};
  /** When each remote device's video last advanced (a picture that stops: camera off, or trouble). */
  private readonly videoProgress = new Map<string, { frames: number; at: number }>();
  speaker: string | null = null;
  reconnectAttempt = 0;
  /** Measured cost of the frame layer in the worker: totals since the call started. */
  readonly cost = { encryptFrames: 0, encryptMs: 0, encryptMaxMs: 0, decryptFrames: 0, decryptMs: 0, decryptMaxMs: 0 };

  private readonly e2ee: E2eeManager;
  private socket: SignalingSocket | null = null;
  private generation = 0;
  private identified = false;
  private admitted = false;
  private left = false;
  private iceServers: RTCIceServer[] = [];
  private publisher: Publisher | null = null;
  private pendingPublish: { resolve: (sdp: string) => void; reject: (err: Error) => void } | null = null;
  private readonly subscriptions = new Map<string, SubscriptionEntry>();
  private frameWindow: { at: number; senders: Record<string, SenderFrameCounts> }[] = [];
  private warning = false;
  private readonly energy = new Map<string, { energy: number; duration: number }>();
  private speakerSince = 0;
  private poller: number | null = null;
  private reconnectTimer: number | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: CallOptions) {
    this.e2ee = new E2eeManager({
      send: (messages) => {
        for (const message of messages) this.socket?.sendDave(message);
      },
      session: (snapshot) => {
        this.session = snapshot;
        this.changed();
      },
      alarm: (reason, detail) => {
        console.warn(`parley: encryption alarm (${reason}): ${detail}`);
        if (this.alarmReason === null) {
          this.alarmReason = reason;
          this.alarm = ALARM_TEXT[reason];
        }
        this.changed();
      },
      frameStats: (report) => this.onFrameStats(report),
      error: (detail) => console.warn(`parley: a DAVE op was not handled: ${detail}`),
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

  get encryption(): EncryptionState {
    if (this.alarm) return 'alarm';
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

  /** What a tile plays: our own preview, or what we receive from that device. */
  streamFor(userId: string): MediaStream | null {
    if (userId === this.userId) return this.options.media.stream;
    const entry = this.subscriptions.get(userId);
    return entry?.answered ? entry.subscription.stream : null;
  }

  /** Is there a moving picture to show for this device? */
  hasPicture(userId: string): boolean {
    if (userId === this.userId) return this.options.media.cameraEnabled && this.options.media.videoTrack !== null;
    const progress = this.videoProgress.get(userId);
    return progress !== undefined && progress.frames > 0 && performance.now() - progress.at < PICTURE_STALL_MS;
  }

  testState(): TestState {
    return {
      connection: this.connection,
      encryption: this.encryption,
      groupCode: this.session?.groupCode ?? null,
      userId: this.userId,
      roster: this.roster.map((p) => ({ userId: p.userId, delegation: p.delegation, people: [...p.people], publishing: p.publishing })),
      decryptFailures: this.decryptFailures,
      peers: structuredClone(this.peers),
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
    this.socket?.send('leave', {});
    this.socket?.close();
    this.socket = null;
    this.stopEverything();
    this.setConnection('closed');
  }

  private end(reason: string): void {
    this.fatal = reason;
    this.left = true;
    this.socket?.close();
    this.socket = null;
    this.stopEverything();
    this.setConnection('closed');
  }

  private stopEverything(): void {
    this.teardownMedia();
    this.e2ee.stop();
    this.session = null;
    if (this.poller !== null) window.clearInterval(this.poller);
    if (this.reconnectTimer !== null) window.clearTimeout(this.reconnectTimer);
    this.poller = null;
    this.reconnectTimer = null;
    this.options.media.stop();
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
    this.setConnection(this.admitted ? 'reconnecting' : 'connecting');
    const socket = new SignalingSocket(signalingUrl(this.options.summitId), {
      open: () => socket.identify(this.options.token, this.options.people),
      op: (message) => {
        if (current()) this.onOp(message, generation);
      },
      daveBinary: (frame) => {
        if (current() && this.identified) this.e2ee.receiveBinary(frame);
      },
      daveJson: (message) => {
        if (current() && this.identified) this.e2ee.receiveJson(message);
      },
      close: (code) => {
        if (current()) this.onClosed(code);
      },
    });
    this.socket = socket;
  }

  private onClosed(code: number): void {
    this.socket = null;
    this.identified = false;
    this.teardownMedia();
    this.e2ee.stop();
    this.session = null;
    this.roster = [];
    this.frameWindow = [];
    this.warning = false;
    if (code === CLOSE_INVITATION) {
      this.end(this.fatal ?? 'The server no longer accepts this invitation link.');
      return;
    }
    this.reconnectAttempt += 1;
    const delay = Math.min(MAX_RECONNECT_DELAY_S, 2 ** (this.reconnectAttempt - 1));
    this.setConnection(this.admitted ? 'reconnecting' : 'connecting');
    this.reconnectTimer = window.setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.left) this.connect();
    }, delay * 1000);
  }

  private teardownMedia(): void {
    this.pendingPublish?.reject(new Error('connection closed'));
    this.pendingPublish = null;
    this.publisher?.close();
    this.publisher = null;
    for (const entry of this.subscriptions.values()) entry.subscription.close();
    this.subscriptions.clear();
    this.peers = {};
    this.energy.clear();
    this.speaker = null;
  }

  // -- signalling ops ----------------------------------------------------------------------

  private onOp(message: ServerOp, generation: number): void {
    switch (message.op) {
      case 'ready': {
        const { device, summit, heartbeat_interval, ice_servers, test_hooks } = message.d;
        this.identified = true;
        this.admitted = true;
        this.reconnectAttempt = 0;
        this.userId = String(device.user_id);
        this.self = participant(device);
        this.summit = summit;
        this.iceServers = ice_servers;
        this.socket?.startHeartbeat(heartbeat_interval);
        // Test only: another group id; davey does not bind a Welcome to the channel, so the member
        // also decrypts under keys it does not hold (the point is that nothing undecryptable plays).
        // The switch acts only when the server says it runs with test hooks: a crafted link can't.
        const wrong = this.options.testWrongGroup && test_hooks === true;
        if (this.options.testNoTransform && test_hooks === true) {
          this.e2ee.withoutTransforms = true;
          this.alarm = 'Benchmark mode: this device sends and receives media WITHOUT end-to-end encryption.';
        }
        const channel = BigInt(summit.channel_id) + (wrong ? 1n : 0n);
        this.e2ee.start(this.userId, channel.toString(), wrong);
        this.setConnection('connected');
        void this.publish(generation);
        return;
      }
      case 'roster':
        this.roster = message.d.devices.map(participant);
        this.self = this.roster.find((p) => p.userId === this.userId) ?? this.self;
        this.followRoster();
        this.changed();
        return;
      case 'publish_answer':
        this.pendingPublish?.resolve(message.d.sdp);
        this.pendingPublish = null;
        return;
      case 'subscribe_offer':
        void this.acceptOffer(String(message.d.feed), message.d.sdp, generation);
        return;
      case 'media_reset':
        // Janus restarted: everything media is gone; DAVE keys are not affected.
        this.teardownMedia();
        this.changed();
        void this.publish(generation);
        return;
      case 'heartbeat_ack':
        return;
      case 'error': {
        const { code, message: text, op } = message.d;
        // Lost commit races and the like are part of DAVE's normal operation.
        const benign = ['dave_late_commit', 'dave_missing_proposal', 'dave_unknown_transition', 'dave_nothing_to_commit'];
        (benign.includes(code) ? console.debug : console.warn)(`parley: the server refused ${String(op)}: ${code}`);
        if (!this.identified) {
          // Refused at identify (an invitation problem): the server closes with 4003 next.
          this.fatal = text;
          return;
        }
        if (op === 'publish') {
          this.pendingPublish?.reject(new Error(code));
          this.pendingPublish = null;
        }
        if (op === 'subscribe' || op === 'subscribe_answer') {
          // Which feed is not said; drop unanswered ones, the next poll asks again.
          for (const [feed, entry] of this.subscriptions) {
            if (!entry.answered) {
              entry.subscription.close();
              this.subscriptions.delete(feed);
            }
          }
        }
        return;
      }
    }
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
    if (!this.current(generation) || this.userId === null) return;
    this.publisher?.close();
    const media = this.options.media;
    const publisher = new Publisher(this.iceServers, media.audioTrack, media.videoTrack, this.e2ee, this.userId);
    this.publisher = publisher;
    try {
      const offer = await publisher.offer();
      if (!this.current(generation) || this.publisher !== publisher) return;
      const answer = await new Promise<string>((resolve, reject) => {
        this.pendingPublish?.reject(new Error('superseded'));
        this.pendingPublish = { resolve, reject };
        this.socket?.send('publish', { sdp: offer });
      });
      if (this.publisher !== publisher) return;
      await publisher.accept(answer);
    } catch (err) {
      if (!this.current(generation) || this.publisher !== publisher) return;
      console.warn(`parley: publishing failed (${err instanceof Error ? err.message : String(err)}); retrying`);
      publisher.close();
      this.publisher = null;
      window.setTimeout(() => {
        if (this.current(generation) && this.publisher === null) void this.publish(generation);
      }, PUBLISH_RETRY_MS);
    }
  }

  /** Subscribe to every other device that publishes; drop what is gone or stopped publishing. */
  private followRoster(): void {
    const now = performance.now();
    const publishing = new Set(this.roster.filter((p) => p.publishing && p.userId !== this.userId).map((p) => p.userId));
    for (const [feed, entry] of this.subscriptions) {
      const stale = !entry.answered && now - entry.requestedAt > SUBSCRIBE_RETRY_MS;
      if (!publishing.has(feed) || stale) {
        entry.subscription.close();
        this.subscriptions.delete(feed);
        delete this.peers[feed];
        this.energy.delete(feed);
      }
    }
    for (const feed of publishing) {
      if (this.subscriptions.has(feed) || !this.socket) continue;
      this.subscriptions.set(feed, {
        subscription: new Subscription(feed, this.iceServers, this.e2ee),
        requestedAt: now,
        answered: false,
      });
      this.socket.send('subscribe', { feed: Number(feed) });
    }
  }

  private async acceptOffer(feed: string, sdp: string, generation: number): Promise<void> {
    const entry = this.subscriptions.get(feed);
    if (!entry) return; // no longer wanted
    try {
      await this.e2ee.loaded;
      const answer = await entry.subscription.answer(sdp);
      if (!this.current(generation) || this.subscriptions.get(feed) !== entry) return;
      this.socket?.send('subscribe_answer', { feed: Number(feed), sdp: answer });
      entry.answered = true;
      this.changed();
    } catch (err) {
      console.warn(`parley: could not answer the offer for a feed (${err instanceof Error ? err.message : String(err)})`);
      entry.subscription.close();
      if (this.subscriptions.get(feed) === entry) this.subscriptions.delete(feed);
    }
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

  // -- verification ------------------------------------------------------------------------

  pairwiseCode(userId: string): Promise<string> {
    return this.e2ee.pairwiseCode(userId);
  }

  // -- frames and stats --------------------------------------------------------------------

  private onFrameStats(report: FrameStatsMessage): void {
    this.frameWindow.push({ at: performance.now(), senders: report.senders });
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
    this.peers = peers;
    const now = performance.now();
    for (const [feed, stats] of Object.entries(peers)) {
      const last = this.videoProgress.get(feed);
      if (!last || stats.framesDecoded > last.frames) this.videoProgress.set(feed, { frames: stats.framesDecoded, at: now });
    }
    for (const feed of this.videoProgress.keys()) if (!(feed in peers)) this.videoProgress.delete(feed);
    this.pickSpeaker(levels);
    this.followRoster(); // retries subscriptions the server did not answer
    this.changed();
  }

  private pickSpeaker(levels: Map<string, number>): void {
    const now = performance.now();
    let loudest: string | null = null;
    let loudestLevel = SPEAKING_LEVEL;
    for (const [id, value] of levels) {
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
