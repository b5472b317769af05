// A DAVE member on @snazzah/davey (native Node build), driven by tests/interop/davey_member.py.
//
// Wire: one JSON request per stdin line, one JSON response per stdout line, in request order.
// stdout carries nothing else; diagnostics go to stderr and never include keys or frame contents.
// See /work/shared/design/E2EE-DAVE.md and the DAVE protocol text (voice gateway opcodes).

import { createInterface } from 'node:readline';
import davey from '@snazzah/davey';

const { DAVESession, generateDisplayableCode } = davey;

// davey declares Codec/MediaType/ProposalsOperationType as TypeScript `const enum`s: at runtime the
// exported objects are empty, so the numeric values from index.d.ts are spelled out here.
const MEDIA = { audio: { type: 0, codec: 1 /* OPUS */ }, video: { type: 1, codec: 2 /* VP8 */ } };
const STATUS = ['INACTIVE', 'PENDING', 'AWAITING_RESPONSE', 'ACTIVE'];
const PROTOCOL_VERSION = 1;

/** Everything one member remembers between requests. */
const member = {
  session: null,
  userId: null,
  groupId: null,
  recognised: new Set(), // user ids from clients_connect minus client_disconnect
  externalSender: null, // last op 25 payload, re-applied after every reinit
  executed: [], // transition ids executed (op 22, or id 0 which executes at once)
  refusedDowngrades: new Set(), // transition ids of refused downgrades to protocol version 0
};

const log = (msg) => process.stderr.write(`[davey-member ${member.userId ?? '?'}] ${msg}\n`);

// ---- outgoing messages ----------------------------------------------------------------------

/** Client->server binary frame: `u8 opcode | payload` (no sequence number in this direction). */
const binary = (opcode, ...parts) => ({ binary: Buffer.concat([Buffer.from([opcode]), ...parts]).toString('base64') });
const json = (op, d) => ({ json: { op, d } });

// ---- session lifecycle ----------------------------------------------------------------------

function requireSession() {
  if (member.session === null) throw new Error('not initialised: send init first');
  return member.session;
}

/** Fresh MLS state (same ids), external sender re-applied, and the new key package to send (op 26). */
function resetAndSendKeyPackage() {
  const session = requireSession();
  session.reinit(PROTOCOL_VERSION, member.userId, member.groupId);
  // Parley never lets frames through unencrypted, whatever state davey starts its decryptors in.
  session.setPassthroughMode(false);
  if (member.externalSender !== null) session.setExternalSender(member.externalSender);
  return [binary(26, session.getSerializedKeyPackage())];
}

/** davey accepts two leaves with one user id (libdave refuses): that is a ghost/duplicate attack. */
function duplicateAlarm() {
  const ids = requireSession().getUserIds();
  const dupes = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
  return dupes.length ? `duplicate user id(s) in the MLS group: ${dupes.join(', ')}` : null;
}

/**
 * Shared tail of ops 29 and 30: ready (23) on success; otherwise flag the transition (31) and rejoin
 * with a fresh key package, as "Recovery from Invalid Commit or Welcome" says.
 */
function afterTransition(transitionId, apply) {
  const invalid = () => [json(31, { transition_id: transitionId }), ...resetAndSendKeyPackage()];
  try {
    apply();
  } catch (err) {
    log(`invalid commit/welcome for transition ${transitionId}: ${err.message}`);
    return { send: invalid() };
  }
  // davey merged it already; the protocol ("Client Commit Validity") says to refuse a group with a
  // duplicated credential, so treat it as invalid, and tell the user: it means a ghost member.
  const alarm = duplicateAlarm();
  if (alarm) return { send: invalid(), alarm: `${alarm} (transition ${transitionId}); group refused` };
  requireSession().setPassthroughMode(false); // decryptors for new members must not pass through either
  // Transition 0 is (re)initialisation and executes at once; others wait for op 22 after our 23.
  if (transitionId === 0) {
    member.executed.push(0);
    return { send: [] };
  }
  return { send: [json(23, { transition_id: transitionId })] };
}

// ---- one function per gateway opcode --------------------------------------------------------

function clients_connect(d) {
  for (const id of d.user_ids) member.recognised.add(String(id));
  return { send: [] };
}

function client_disconnect(d) {
  member.recognised.delete(String(d.user_id));
  return { send: [] };
}

function dave_protocol_prepare_transition(d) {
  const t = d.transition_id;
  if (d.protocol_version === 0) {
    // A downgrade to transport-only encryption: Parley refuses it. No 23 (we are not ready to
    // send in the clear, ever), passthrough stays off, and the user is told.
    member.refusedDowngrades.add(t);
    return { send: [], alarm: `gateway asked to downgrade to unencrypted media (transition ${t}); refused` };
  }
  if (t === 0) {
    member.executed.push(0);
    return { send: [] };
  }
  // Version-retaining transition: our decryptors are ready as they are.
  return { send: [json(23, { transition_id: t })] };
}

function dave_protocol_execute_transition(d) {
  const t = d.transition_id;
  member.executed.push(t);
  if (member.refusedDowngrades.has(t)) {
    return { send: [], alarm: `gateway executed a downgrade to unencrypted media (transition ${t}); media stays encrypted` };
  }
  return { send: [] };
}

function dave_protocol_prepare_epoch(d) {
  if (d.protocol_version === 0) {
    return { send: [], alarm: `gateway announced an epoch with protocol version 0 (unencrypted); refused` };
  }
  // Epoch 1 means the group is (re)created: start over with a new key package.
  return { send: d.epoch === 1 ? resetAndSendKeyPackage() : [] };
}

function dave_mls_external_sender_package(payload) {
  const session = requireSession();
  session.setExternalSender(payload);
  member.externalSender = Buffer.from(payload);
  return { send: [binary(26, session.getSerializedKeyPackage())] };
}

function dave_mls_proposals(payload) {
  if (payload.length < 1) throw new Error('op 27: empty payload');
  const operationType = payload[0]; // 0 append, 1 revoke
  if (operationType > 1) throw new Error(`op 27: unknown operation type ${operationType}`);
  // Only users the gateway announced may be added: davey checks adds against this list.
  const result = requireSession().processProposals(operationType, payload.subarray(1), [...member.recognised]);
  if (!result.commit) return { send: [] };
  return { send: [binary(28, result.commit, ...(result.welcome ? [result.welcome] : []))] };
}

function dave_mls_announce_commit_transition(payload) {
  if (payload.length < 2) throw new Error('op 29: payload too short');
  const t = payload.readUInt16BE(0);
  return afterTransition(t, () => requireSession().processCommit(payload.subarray(2)));
}

function dave_mls_welcome(payload) {
  if (payload.length < 2) throw new Error('op 30: payload too short');
  const t = payload.readUInt16BE(0);
  return afterTransition(t, () => requireSession().processWelcome(payload.subarray(2)));
}

const JSON_OPS = {
  11: clients_connect,
  13: client_disconnect,
  21: dave_protocol_prepare_transition,
  22: dave_protocol_execute_transition,
  24: dave_protocol_prepare_epoch,
};
const BINARY_OPS = {
  25: dave_mls_external_sender_package,
  27: dave_mls_proposals,
  29: dave_mls_announce_commit_transition,
  30: dave_mls_welcome,
};

function receive(message) {
  requireSession();
  if (message.binary !== undefined) {
    const frame = Buffer.from(message.binary, 'base64');
    if (frame.length < 3) throw new Error('binary frame shorter than u16 sequence | u8 opcode');
    const opcode = frame[2]; // bytes 0-1: the server's sequence number, not needed by a member
    const handler = BINARY_OPS[opcode];
    if (!handler) throw new Error(`unknown binary opcode ${opcode}`);
    return handler(frame.subarray(3));
  }
  if (message.json !== undefined) {
    const handler = JSON_OPS[message.json.op];
    if (!handler) throw new Error(`unknown JSON opcode ${message.json.op}`);
    return handler(message.json.d ?? {});
  }
  throw new Error('message must have "binary" or "json"');
}

// ---- commands -------------------------------------------------------------------------------

function media(name) {
  const m = MEDIA[name];
  if (!m) throw new Error(`unknown media ${JSON.stringify(name)} (audio or video)`);
  return m;
}

const COMMANDS = {
  init(req) {
    if (member.session !== null) throw new Error('already initialised');
    member.userId = String(req.user_id);
    member.groupId = String(req.group_id);
    member.session = new DAVESession(PROTOCOL_VERSION, member.userId, member.groupId);
    member.session.setPassthroughMode(false);
    return {};
  },
  receive: (req) => receive(req.message),
  encrypt(req) {
    const m = media(req.media);
    const out = requireSession().encrypt(m.type, m.codec, Buffer.from(req.data, 'base64'));
    return { data: Buffer.from(out).toString('base64') };
  },
  decrypt(req) {
    const m = media(req.media);
    try {
      const out = requireSession().decrypt(String(req.user_id), m.type, Buffer.from(req.data, 'base64'));
      return { data: Buffer.from(out).toString('base64') };
    } catch (err) {
      return { data: null, error: err.message };
    }
  },
  group_code() {
    // A pending session has a one-member local group with its own authenticator: no code to show.
    const session = requireSession();
    const auth = session.status === 3 /* ACTIVE */ ? session.getEpochAuthenticator() : null;
    return { code: auth ? generateDisplayableCode(auth, 30, 5) : null };
  },
  async pairwise_code(req) {
    return { code: await requireSession().getVerificationCode(String(req.user_id)) };
  },
  state() {
    const s = requireSession();
    return {
      status: STATUS[s.status] ?? String(s.status),
      epoch: s.epoch === null || s.epoch === undefined ? null : String(s.epoch),
      user_ids: s.getUserIds(),
      own_leaf_index: s.ownLeafIndex ?? null,
      executed_transitions: member.executed,
    };
  },
};

// ---- request loop ---------------------------------------------------------------------------

const reply = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

async function handle(line) {
  let id = null;
  try {
    const req = JSON.parse(line);
    id = req.id ?? null;
    if (req.cmd === 'quit') {
      reply({ id, ok: true });
      process.exit(0);
    }
    const command = Object.hasOwn(COMMANDS, req.cmd) ? COMMANDS[req.cmd] : null;
    if (!command) throw new Error(`unknown command ${JSON.stringify(req.cmd)}`);
    reply({ id, ok: true, ...(await command(req)) });
  } catch (err) {
    log(`request ${id} failed: ${err.message}`);
    reply({ id, ok: false, error: String(err.message ?? err) });
  }
}

// Chain requests so async ones (pairwise_code) still answer in order.
let queue = Promise.resolve();
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  queue = queue.then(() => handle(line));
});
rl.on('close', () => queue.then(() => process.exit(0)));
