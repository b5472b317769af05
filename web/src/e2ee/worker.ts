/**
 * The DAVE worker: one per page, and the RTCRtpScriptTransform worker of every sender and receiver.
 *
 * It loads davey (WebAssembly), holds this device's DAVE session (`DaveMember`) and all its keys,
 * answers the DAVE ops the main thread forwards with the ops to send, and en-/decrypts frames
 * through one `TrackTransform` per track. It reports `loaded` only once davey is usable; the page
 * creates transforms only after that. It never logs keys, frames or DAVE payloads.
 *
 * Certified mode (identityGuard.ts) lives here too, beside the key: the guard of the current
 * connection checks every epoch, and the enrollment (deviceEnrollment.ts) signs with the key.
 */

import './bufferGlobal';

import { Buffer } from 'buffer';

import type { DaveyModule, SigningKeyPair } from './davey';
import { DaveMember } from './daveMember';
import { answerAsk } from './deviceEnrollment';
import { IdentityGuard } from './identityGuard';
import type { IdentitySetup } from './messages';
import { deviceSigner, type DeviceSigner } from '../identity/deviceKey';
import { base64url } from './mlsWire';
import type {
  AlarmReason,
  ClientDaveMessage,
  MainToWorker,
  IdentityAnswer,
  IdentityDocument,
  KeyProofResponse,
  RecordAnswer,
  PairwiseCodeResponse,
  RecordGrantRequest,
  RecordSignRequest,
  SessionSnapshot,
  WorkerToMain,
} from './messages';
import { openOwnGrant, signRecordDocument } from './recordSigning';
import { keyProofMessage, privateJwk, profileKey } from './signingKey';
import { unbase64url } from '../identity/encoding';
import { FrameStats, parseTransformOptions, TrackTransform } from './trackTransform';

/** How often frame counts go to the page: throttled, so a flood of bad frames costs one message. */
const STATS_INTERVAL_MS = 500;

const scope = self as unknown as DedicatedWorkerGlobalScope;

function post(message: WorkerToMain, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

let davey: DaveyModule | null = null;
let key: SigningKeyPair | null = null;
let member: DaveMember | null = null;
/** Certified mode's guard for the current connection; null in a summit without pins. */
let guard: IdentityGuard | null = null;
let generation = -1;
let lastSnapshot = '';
const stats = new FrameStats();
/** This device's video sender transforms, while their streams run: the server's `keyframe` reaches them. */
const videoSenders = new Set<TrackTransform>();

/** davey takes Node-style Buffers: views over the same bytes. */
function asBuffers(pair: SigningKeyPair): SigningKeyPair {
  const buffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  return { private: buffer(pair.private), public: buffer(pair.public) };
}

/** The profile's signing key (kept in IndexedDB); a key for this page alone if the browser keeps none. */
async function loadKey(module: DaveyModule): Promise<{ pair: SigningKeyPair; kept: boolean }> {
  try {
    return { pair: asBuffers(await profileKey(() => module.generateP256Keypair())), kept: true };
  } catch {
    const made = module.generateP256Keypair();
    return { pair: asBuffers({ private: new Uint8Array(made.private), public: new Uint8Array(made.public) }), kept: false };
  }
}

const loaded: Promise<boolean> = import('@snazzah/davey').then(
  async (module) => {
    const loadedDavey = module as unknown as DaveyModule;
    // One signing key per browser profile: the same identity, and pairwise codes, call after call.
    const { pair, kept } = await loadKey(loadedDavey);
    davey = loadedDavey;
    key = pair;
    post({ kind: 'loaded', version: loadedDavey.VERSION, publicKey: base64url(pair.public), keyKept: kept });
    return true;
  },
  (err: unknown) => {
    post({ kind: 'loadFailed', reason: err instanceof Error ? err.message : String(err) });
    return false;
  },
);

function alarm(gen: number): (reason: AlarmReason, detail: string, userId: string | null) => void {
  return (reason, detail, userId) => post({ kind: 'alarm', generation: gen, reason, detail, userId });
}

function publishSnapshot(force = false): void {
  if (member === null) return;
  const snapshot: SessionSnapshot = member.snapshot();
  const text = JSON.stringify(snapshot);
  if (!force && text === lastSnapshot) return;
  lastSnapshot = text;
  post({ kind: 'session', generation, session: snapshot });
}

function send(messages: ClientDaveMessage[]): void {
  if (messages.length === 0) return;
  const transfer = messages.flatMap((m) => ('binary' in m ? [m.binary] : []));
  post({ kind: 'send', generation, messages }, transfer);
}

/** Signs with the profile's key (WebCrypto): identify's proof, enrollment requests, attestations. */
function signer(): Promise<DeviceSigner> {
  if (key === null) return Promise.reject(new Error('no key'));
  return deviceSigner(privateJwk(key));
}

/** A fresh guard for a connection in certified mode; it reports on the generation current when it speaks. */
async function startGuard(setup: IdentitySetup, pinSet: string | null): Promise<void> {
  if (key === null) return;
  const own = new Uint8Array(key.public);
  const made = new IdentityGuard(setup, await signer(), own, {
    alarm: (reason, detail, userId) => post({ kind: 'alarm', generation, reason, detail, userId }),
    attest: (attestation) => post({ kind: 'attest', generation, attestation }),
    changed: (view) => {
      post({ kind: 'identityView', view });
      publishSnapshot();
    },
  });
  guard = made;
  await made.setPinSet(pinSet);
}

/** An identity document for the guard; awaited, so a certificate counts before the DAVE op after it. */
async function takeDocument(document: IdentityDocument): Promise<void> {
  if (guard === null) return;
  switch (document.op) {
    case 'certificate':
      return guard.addCertificate(document.userId, document.text);
    case 'revocations':
      return guard.addRevocations(document.text);
    case 'pins':
      return guard.setPinSet(document.text);
    case 'attestation':
      guard.receiveAttestation(document.text);
      return;
  }
}

async function handle(message: MainToWorker): Promise<void> {
  switch (message.kind) {
    case 'identity':
      await startGuard(message.setup, message.pinSet);
      return;
    case 'identityDocument':
      await takeDocument(message.document);
      return;
    case 'init': {
      if (davey === null || key === null) return;
      member?.dispose();
      generation = message.generation;
      member = new DaveMember(davey, message.userId, message.channelId, key, alarm(message.generation), {
        testWrongKeys: message.testWrongKeys,
        guard: guard !== null && guard.setup.selfId === message.userId ? guard : null,
      });
      publishSnapshot(true);
      return;
    }
    case 'roster':
      if (message.generation !== generation || member === null) return;
      member.setRoster(message.devices);
      guard?.setRoster(message.people);
      publishSnapshot();
      return;
    case 'keyFrame':
      for (const sender of videoSenders) sender.subscribed();
      return;
    case 'close':
      if (message.generation !== generation) return;
      member?.dispose();
      member = null;
      guard = null;
      return;
    case 'daveBinary':
    case 'daveJson': {
      if (message.generation !== generation || member === null) return;
      try {
        send(
          message.kind === 'daveBinary'
            ? member.receiveBinary(new Uint8Array(message.frame))
            : member.receiveJson(message.message),
        );
      } catch (err) {
        const detail = err instanceof Error ? err.message : String(err);
        post({ kind: 'error', generation, detail });
      }
      publishSnapshot();
      return;
    }
    case 'pairwiseCode':
    case 'proveKey':
    case 'identityAsk':
    case 'signRecord':
    case 'openRecordGrant':
      return; // answered outside the queue (below): none touches the DAVE session's state
  }
}

/** Answer a request the page sent by id: `work`'s value, or why there is none. */
async function answer(reply: (value: string | null, error: string | null) => void, work: () => Promise<string>): Promise<void> {
  if (!(await loaded)) {
    reply(null, 'encryption did not load');
    return;
  }
  try {
    reply(await work(), null);
  } catch (err) {
    reply(null, err instanceof Error ? err.message : String(err));
  }
}

async function pairwiseCode(userId: string): Promise<string> {
  if (member === null) throw new Error('not in a call');
  return member.pairwiseCode(userId);
}

/** identify's proof: ECDSA P-256 SHA-256 over `keyProofMessage`, by the profile's key (WebCrypto). */
async function proveKey(token: string): Promise<string> {
  if (key === null) throw new Error('no key');
  const sign = await signer();
  return base64url(await sign(keyProofMessage(token, key.public)));
}

/** The record's requests: a signature over a record document, or the record key from this device's grant. */
async function recordWork(message: RecordSignRequest | RecordGrantRequest): Promise<string> {
  if (key === null) throw new Error('no key');
  if (message.kind === 'signRecord') return base64url(await signRecordDocument(message.document, unbase64url(message.message), await signer()));
  return base64url(await openOwnGrant(message.grant, new Uint8Array(key.public), privateJwk(key)));
}

// DAVE ops are handled one at a time, in arrival order, once davey has loaded.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event: MessageEvent<MainToWorker>) => {
  const message = event.data;
  if (message.kind === 'pairwiseCode') {
    const { id, userId } = message;
    void answer((code, error) => post({ kind: 'pairwiseCodeResult', id, code, error } satisfies PairwiseCodeResponse), () => pairwiseCode(userId));
    return;
  }
  if (message.kind === 'proveKey') {
    const { id, token } = message;
    void answer((proof, error) => post({ kind: 'keyProof', id, proof, error } satisfies KeyProofResponse), () => proveKey(token));
    return;
  }
  if (message.kind === 'identityAsk') {
    const { id, ask } = message;
    void answer(
      (value, error) => post({ kind: 'identityAnswer', id, value, error } satisfies IdentityAnswer),
      async () => {
        if (key === null) throw new Error('no key');
        // The own certificate, once accepted, counts in the epoch checks like any member's.
        return answerAsk(ask, key.public, await signer(), (certificate) => void guard?.addCertificate(String(certificate.claim.userId), certificate.toText()));
      },
    );
    return;
  }
  if (message.kind === 'signRecord' || message.kind === 'openRecordGrant') {
    const { id } = message;
    void answer((value, error) => post({ kind: 'recordAnswer', id, value, error } satisfies RecordAnswer), () => recordWork(message));
    return;
  }
  queue = queue
    .then(async () => {
      if (await loaded) await handle(message);
    })
    .catch((err: unknown) => {
      post({ kind: 'error', generation, detail: err instanceof Error ? err.message : String(err) });
    });
};

scope.onrtctransform = (event: RTCTransformEvent) => {
  const transformer = event.transformer;
  let options;
  try {
    options = parseTransformOptions(transformer.options);
  } catch (err) {
    // A transform we cannot place: leave its streams unread, so no frame goes anywhere.
    post({ kind: 'error', generation, detail: err instanceof Error ? err.message : String(err) });
    return;
  }
  const transform = new TrackTransform(transformer, options, () => member, stats, () => post({ kind: 'makeKeyFrame' }));
  if (options.kind === 'encrypt' && options.mediaKind === 'video') {
    videoSenders.add(transform);
    void transform.start().then(() => videoSenders.delete(transform));
  } else {
    void transform.start();
  }
};

setInterval(() => {
  const report = stats.take();
  if (report) post(report);
  // The membership bounds run out with time alone (a device that never joins, one that never leaves).
  member?.tick();
  guard?.tick();
  publishSnapshot();
}, STATS_INTERVAL_MS);
