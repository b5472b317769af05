/**
 * The page's DAVE member (src/e2ee/daveMember.ts, as shipped) under Node, on davey's Node build,
 * driven by tests/interop/davey_member.py: the interop tests put it in one group with dave.py
 * members through the real gateway.
 *
 * Wire: one JSON request per stdin line, one JSON response per stdout line, in request order;
 * bytes travel as base64. Every response carries the alarms the member raised since the last one.
 * stdout carries nothing else; diagnostics go to stderr and never include keys or frame contents.
 */

import { createInterface } from 'node:readline';

import daveyNode from '@snazzah/davey';

import type { DaveyModule } from '../src/e2ee/davey';
import { DaveMember } from '../src/e2ee/daveMember';
import type { ClientDaveMessage, MediaKind } from '../src/e2ee/messages';

/** The session davey made for the member, kept to report what the page cannot see (its leaf index). */
type NodeSession = InstanceType<typeof daveyNode.DAVESession>;

const STATUS = ['INACTIVE', 'PENDING', 'AWAITING_RESPONSE', 'ACTIVE'];

type Request = Record<string, unknown>;
type Reply = Record<string, unknown>;

class RequestError extends Error {}

let member: DaveMember | null = null;
let session: NodeSession | null = null;
let alarms: string[] = [];

/**
 * davey's module as the member takes it, with the one session it makes kept for `state`. davey's
 * declarations want Node's Buffer where `DaveyModule` says Uint8Array; the member hands it Buffers.
 */
function observedDavey(): DaveyModule {
  const keep = (made: NodeSession): void => {
    session = made;
  };
  class Observed extends daveyNode.DAVESession {
    constructor(...args: ConstructorParameters<typeof daveyNode.DAVESession>) {
      super(...args);
      keep(this);
    }
  }
  return { ...(daveyNode as unknown as DaveyModule), DAVESession: Observed as unknown as DaveyModule['DAVESession'] };
}

function requireMember(): DaveMember {
  if (member === null) throw new RequestError('not initialised: send init first');
  return member;
}

function text(req: Request, field: string): string {
  const value = req[field];
  if (typeof value !== 'string') throw new RequestError(`${field} must be a string`);
  return value;
}

function bytes(req: Request, field: string): Uint8Array {
  return new Uint8Array(Buffer.from(text(req, field), 'base64'));
}

function media(req: Request): MediaKind {
  const value = req.media;
  if (value !== 'audio' && value !== 'video') throw new RequestError('media is "audio" or "video"');
  return value;
}

const base64 = (data: Uint8Array | ArrayBuffer): string => Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString('base64');

function outgoing(message: ClientDaveMessage): Reply {
  return 'binary' in message ? { binary: base64(message.binary) } : { json: message.json };
}

function receive(req: Request): Reply {
  const m = requireMember();
  const message = req.message as { binary?: unknown; json?: unknown } | undefined;
  let sent: ClientDaveMessage[];
  if (typeof message?.binary === 'string') {
    sent = m.receiveBinary(new Uint8Array(Buffer.from(message.binary, 'base64')));
  } else if (typeof message?.json === 'object' && message.json !== null) {
    const { op, d } = message.json as { op?: unknown; d?: unknown };
    if (typeof op !== 'number' || typeof d !== 'object' || d === null) throw new RequestError('json is {op: number, d: object}');
    sent = m.receiveJson({ op, d });
  } else {
    throw new RequestError('message must have "binary" or "json"');
  }
  return { send: sent.map(outgoing) };
}

const COMMANDS: Record<string, (req: Request) => Reply | Promise<Reply>> = {
  init(req) {
    if (member !== null) throw new RequestError('already initialised');
    const davey = observedDavey();
    member = new DaveMember(davey, text(req, 'user_id'), text(req, 'group_id'), davey.generateP256Keypair(), (reason, detail) =>
      alarms.push(`${reason}: ${detail}`),
    );
    return {};
  },
  /** The roster op, as the page forwards it: who the server says is in the call (keys may be unsaid). */
  roster(req) {
    const devices = req.devices;
    if (!Array.isArray(devices)) throw new RequestError('devices must be a list');
    requireMember().setRoster(
      devices.map((d: { user_id?: unknown; key?: unknown }) => ({
        userId: String(d.user_id),
        key: typeof d.key === 'string' ? d.key : null,
      })),
    );
    return {};
  },
  receive,
  encrypt(req) {
    const sealed = requireMember().encrypt(media(req), bytes(req, 'data'));
    return { data: sealed === null ? null : base64(sealed) };
  },
  decrypt(req) {
    const result = requireMember().decrypt(text(req, 'user_id'), media(req), bytes(req, 'data'));
    return result.ok ? { data: base64(result.data) } : { data: null, reason: result.reason };
  },
  group_code: () => ({ code: requireMember().snapshot().groupCode }),
  pairwise_code: async (req) => ({ code: await requireMember().pairwiseCode(text(req, 'user_id')) }),
  state() {
    const m = requireMember();
    const snapshot = m.snapshot();
    const s = session;
    return {
      state: snapshot.state,
      status: s === null ? null : (STATUS[s.status] ?? String(s.status)),
      epoch: s?.epoch == null ? null : s.epoch.toString(),
      user_ids: s?.getUserIds() ?? [],
      own_leaf_index: s?.ownLeafIndex ?? null,
      executed_transitions: m.executed,
      can_send: snapshot.canSend,
      held: snapshot.held,
      members: snapshot.members,
    };
  },
};

const reply = (obj: Reply): void => {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
};

async function handle(line: string): Promise<void> {
  let id: unknown = null;
  try {
    const req = JSON.parse(line) as Request;
    id = req.id ?? null;
    if (req.cmd === 'quit') {
      reply({ id, ok: true, alarms });
      process.exit(0);
    }
    const command = typeof req.cmd === 'string' && Object.hasOwn(COMMANDS, req.cmd) ? COMMANDS[req.cmd] : undefined;
    if (command === undefined) throw new RequestError(`unknown command ${JSON.stringify(req.cmd)}`);
    const answer = await command(req);
    reply({ id, ok: true, ...answer, alarms });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`[dave-member] request ${String(id)} failed: ${message}\n`);
    reply({ id, ok: false, error: message, alarms });
  } finally {
    alarms = [];
  }
}

// Requests run one after another, so an async one (pairwise_code) still answers in order.
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (line.trim() !== '') queue = queue.then(() => handle(line));
});
lines.on('close', () => {
  void queue.then(() => process.exit(0));
});
