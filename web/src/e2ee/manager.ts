/**
 * The page's side of end-to-end encryption: it starts the DAVE worker, forwards the server's DAVE
 * ops to it, hands back what the worker wants sent, and attaches the worker to every sender and
 * receiver as their RTCRtpScriptTransform. It never sees a key or a frame.
 */

import type {
  AlarmReason,
  ClientDaveMessage,
  DaveJson,
  FrameStatsMessage,
  IdentityAsk,
  IdentityDocument,
  LoadedMessage,
  MainToWorker,
  MediaKind,
  RecordSignRequest,
  SessionSnapshot,
  TransformOptions,
  WorkerToMain,
} from './messages';
import type { IdentitySetup, IdentityView, RosterPerson } from './messages';
import { KeyFrameMaker } from './keyFrameMaker';
import type { RosterDevice } from './membership';

export interface E2eeEvents {
  /** DAVE messages for the server, for the current connection only. */
  send(messages: ClientDaveMessage[]): void;
  session(snapshot: SessionSnapshot): void;
  alarm(reason: AlarmReason, detail: string, userId: string | null): void;
  frameStats(report: FrameStatsMessage): void;
  error(detail: string): void;
  /** Certified mode: the guard's view changed. */
  identity(view: IdentityView): void;
  /** Certified mode: send this attestation of the epoch just entered. */
  attest(attestation: string): void;
}

/** RTCRtpScriptTransform is what keeps plaintext frames off the wire: without it, no call. */
export function encodedTransformSupported(): boolean {
  return typeof RTCRtpScriptTransform === 'function';
}

/** davey is ready in the worker, with this profile's signing key. */
export type Loaded = Pick<LoadedMessage, 'version' | 'publicKey' | 'keyKept'>;

export class E2eeManager {
  /** Resolves when davey has loaded in the worker; rejects if it cannot (the call cannot start). */
  readonly loaded: Promise<Loaded>;
  private readonly worker: Worker;
  private generation = 0;
  private nextRequest = 1;
  private readonly requests = new Map<number, { resolve: (code: string) => void; reject: (err: Error) => void }>();
  private readonly keyFrames = new KeyFrameMaker();

  constructor(private readonly events: E2eeEvents) {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'parley-dave' });
    let resolveLoaded!: (loaded: Loaded) => void;
    let rejectLoaded!: (err: Error) => void;
    this.loaded = new Promise<Loaded>((resolve, reject) => {
      resolveLoaded = resolve;
      rejectLoaded = reject;
    });
    this.loaded.catch(() => undefined); // observed by whoever awaits it
    this.worker.onerror = (event) => rejectLoaded(new Error(event.message || 'the encryption worker failed to start'));
    this.worker.onmessage = (event: MessageEvent<WorkerToMain>) => {
      const message = event.data;
      switch (message.kind) {
        case 'loaded':
          resolveLoaded({ version: message.version, publicKey: message.publicKey, keyKept: message.keyKept });
          return;
        case 'loadFailed':
          rejectLoaded(new Error(message.reason));
          return;
        case 'send':
          if (message.generation === this.generation) this.events.send(message.messages);
          return;
        case 'session':
          if (message.generation === this.generation) this.events.session(message.session);
          return;
        case 'alarm':
          if (message.generation === this.generation) this.events.alarm(message.reason, message.detail, message.userId);
          return;
        case 'frameStats':
          this.events.frameStats(message);
          return;
        case 'pairwiseCodeResult':
          this.settle(message.id, message.code, message.error ?? 'no code');
          return;
        case 'keyProof':
          this.settle(message.id, message.proof, message.error ?? 'no proof');
          return;
        case 'identityAnswer':
          this.settle(message.id, message.value, message.error ?? 'no answer');
          return;
        case 'recordAnswer':
          this.settle(message.id, message.value, message.error ?? 'no answer');
          return;
        case 'identityView':
          this.events.identity(message.view);
          return;
        case 'attest':
          if (message.generation === this.generation) this.events.attest(message.attestation);
          return;
        case 'error':
          if (message.generation === this.generation) this.events.error(message.detail);
          return;
        case 'makeKeyFrame':
          void this.keyFrames.make();
          return;
      }
    };
  }

  /** The worker answered request `id`: with a value, or with why not. */
  private settle(id: number, value: string | null, error: string): void {
    const request = this.requests.get(id);
    this.requests.delete(id);
    if (!request) return;
    if (value !== null) request.resolve(value);
    else request.reject(new Error(error));
  }

  /** Ask the worker something it answers by id (outside the queue of DAVE ops). */
  private ask(message: (id: number) => MainToWorker): Promise<string> {
    const id = this.nextRequest++;
    return new Promise<string>((resolve, reject) => {
      this.requests.set(id, { resolve, reject });
      this.post(message(id));
    });
  }

  private post(message: MainToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  /** A new DAVE session for a new signalling connection; ops of earlier ones are dropped from now on. */
  start(userId: string, channelId: string, testWrongKeys = false): void {
    this.generation += 1;
    this.post({ kind: 'init', generation: this.generation, userId, channelId, testWrongKeys });
  }

  /** Leaving: the worker forgets the session and its keys. */
  stop(): void {
    this.post({ kind: 'close', generation: this.generation });
    this.generation += 1;
  }

  /** The server's `keyframe`: a subscription to this device's video came up. */
  keyFrame(): void {
    this.post({ kind: 'keyFrame' });
  }

  /** Every roster op: the worker holds the key group against it. */
  setRoster(devices: RosterDevice[], people: RosterPerson[]): void {
    this.post({ kind: 'roster', generation: this.generation, devices, people });
  }

  /** Certified mode for this connection (at `ready`): the worker checks every epoch from now on. */
  startIdentity(setup: IdentitySetup, pinSet: string | null): void {
    this.post({ kind: 'identity', setup, pinSet });
  }

  /** An identity document the server relayed. */
  identityDocument(document: IdentityDocument): void {
    this.post({ kind: 'identityDocument', document });
  }

  /** Enrollment, where the key is (see deviceEnrollment.ts for the answers). */
  identityAsk(ask: IdentityAsk): Promise<string> {
    return this.ask((id) => ({ kind: 'identityAsk', id, ask }));
  }

  /** The device's signature (base64url) over a record document, `label || body` (base64url): the worker checks it is one. */
  signRecord(document: RecordSignRequest['document'], message: string): Promise<string> {
    return this.ask((id) => ({ kind: 'signRecord', id, document, message }));
  }

  /** The record key (base64url) from a grant to this device: the worker opens it with the device key, which stays there. */
  openRecordGrant(grant: string): Promise<string> {
    return this.ask((id) => ({ kind: 'openRecordGrant', id, grant }));
  }

  receiveBinary(frame: ArrayBuffer): void {
    this.post({ kind: 'daveBinary', generation: this.generation, frame }, [frame]);
  }

  receiveJson(message: DaveJson): void {
    this.post({ kind: 'daveJson', generation: this.generation, message });
  }

  /** Benchmarks only (server test hooks on): attach no transforms, to measure what E2EE costs. */
  withoutTransforms = false;

  /** Every frame this sender encodes is encrypted in the worker before packetization (or dropped). */
  encryptSender(sender: RTCRtpSender, userId: string, mediaKind: MediaKind): void {
    if (this.withoutTransforms) return;
    const options = { kind: 'encrypt', userId, mediaKind } satisfies TransformOptions;
    sender.transform = new RTCRtpScriptTransform(this.worker, options);
    if (mediaKind === 'video') this.keyFrames.use(sender);
  }

  /** Every frame this receiver gets from `senderId` is decrypted in the worker before decoding (or dropped). */
  decryptReceiver(receiver: RTCRtpReceiver, senderId: string, mediaKind: MediaKind): void {
    if (this.withoutTransforms) return;
    const options = { kind: 'decrypt', userId: senderId, mediaKind } satisfies TransformOptions;
    receiver.transform = new RTCRtpScriptTransform(this.worker, options);
  }

  /** identify's proof that this profile holds its key: a signature of the invitation token. */
  proveKey(token: string): Promise<string> {
    return this.ask((id) => ({ kind: 'proveKey', id, token }));
  }

  /** The 45-digit code to compare aloud with `userId`, in groups of five. */
  pairwiseCode(userId: string): Promise<string> {
    return this.ask((id) => ({ kind: 'pairwiseCode', id, userId }));
  }
}
