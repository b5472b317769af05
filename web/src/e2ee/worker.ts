/**
 * The DAVE worker: one per page, and the RTCRtpScriptTransform worker of every sender and receiver.
 *
 * It loads davey (WebAssembly), holds this device's DAVE session (`DaveMember`) and all its keys,
 * answers the DAVE ops the main thread forwards with the ops to send, and en-/decrypts frames
 * through one `TrackTransform` per track. It reports `loaded` only once davey is usable; the page
 * creates transforms only after that. It never logs keys, frames or DAVE payloads.
 */

import './bufferGlobal';

import { Buffer } from 'buffer';

import type { DaveyModule, SigningKeyPair } from './davey';
import { DaveMember } from './daveMember';
import { base64url } from './mlsWire';
import type {
  AlarmReason,
  ClientDaveMessage,
  MainToWorker,
  KeyProofResponse,
  PairwiseCodeResponse,
  SessionSnapshot,
  WorkerToMain,
} from './messages';
import { keyProofMessage, privateJwk, profileKey } from './signingKey';
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
let generation = -1;
let lastSnapshot = '';
const stats = new FrameStats();

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

function handle(message: MainToWorker): void {
  switch (message.kind) {
    case 'init': {
      if (davey === null || key === null) return;
      member?.dispose();
      generation = message.generation;
      member = new DaveMember(davey, message.userId, message.channelId, key, alarm(message.generation), {
        testWrongKeys: message.testWrongKeys,
      });
      publishSnapshot(true);
      return;
    }
    case 'roster':
      if (message.generation !== generation || member === null) return;
      member.setRoster(message.devices);
      publishSnapshot();
      return;
    case 'close':
      if (message.generation !== generation) return;
      member?.dispose();
      member = null;
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
      return; // answered outside the queue (below): neither touches the DAVE session's state
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
  const signing = await crypto.subtle.importKey('jwk', privateJwk(key), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signing, keyProofMessage(token, key.public));
  return base64url(new Uint8Array(signature));
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
  queue = queue
    .then(async () => {
      if (await loaded) handle(message);
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
  new TrackTransform(transformer, options, () => member, stats).start();
};

setInterval(() => {
  const report = stats.take();
  if (report) post(report);
  // The membership bounds run out with time alone (a device that never joins, one that never leaves).
  member?.tick();
  publishSnapshot();
}, STATS_INTERVAL_MS);
