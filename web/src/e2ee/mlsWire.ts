/**
 * The few MLS 1.0 (RFC 9420) structures the browser reads itself, because davey does not tell:
 * the Add proposals of op 27, each a key package whose leaf names a user id and a signature key.
 *
 * davey exposes the group's user ids but not their signature keys, so a server that removes a
 * member's leaf and adds its own key under the same user id (a silent key swap) would go unseen.
 * Reading each Add before davey does lets the member record which key every user id joined with.
 * The layout is the one the gateway writes (src/parley/e2ee/mls_wire.py, docs/protocol.md, op 27):
 * `items<V>` is a run of MLSMessages, each a PublicMessage from the external sender carrying one
 * proposal, Add (`u16 1 | KeyPackage`) or Remove (`u16 3 | u32 leaf`).
 *
 * Every length is bounded and checked before it is used; anything that does not fit raises
 * `WireError`, and the caller then refuses the whole op rather than let davey take an Add whose
 * key it could not record.
 */

export class WireError extends Error {}

const MLS_VERSION = 1;
const WIRE_FORMAT_PUBLIC_MESSAGE = 1;
const SENDER_MEMBER = 1;
const SENDER_EXTERNAL = 2;
const CONTENT_PROPOSAL = 2;
const PROPOSAL_ADD = 1;
const PROPOSAL_REMOVE = 3;
const CREDENTIAL_BASIC = 1;
const LEAF_SOURCE_KEY_PACKAGE = 1;
const LEAF_SOURCE_COMMIT = 3;

/** The same limits as the gateway's parser: a P-256 point is 65 bytes, a DER signature at most 72. */
const MAX_KEY = 133;
const MAX_SIGNATURE = 144;
const MAX_IDENTITY = 64;
const MAX_SMALL_LIST = 1024;
const MAX_EXTENSIONS = MAX_SMALL_LIST * 4 + 4096;
const MAX_REF = 64;
const MAX_MESSAGE = 1 << 20;

/** TLS presentation language as MLS uses it: big-endian integers, vectors with a varint length. */
export class Reader {
  private at = 0;

  constructor(private readonly data: Uint8Array) {}

  get atEnd(): boolean {
    return this.at === this.data.length;
  }

  raw(n: number, what: string): Uint8Array {
    if (n > this.data.length - this.at) throw new WireError(`${what}: needs ${n} bytes, ${this.data.length - this.at} left`);
    const out = this.data.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  uint(width: 1 | 2 | 4 | 8, what: string): bigint {
    let value = 0n;
    for (const byte of this.raw(width, what)) value = (value << 8n) | BigInt(byte);
    return value;
  }

  small(width: 1 | 2 | 4, what: string): number {
    return Number(this.uint(width, what));
  }

  /** RFC 9420 2.1.2: 1, 2 or 4 bytes, minimally encoded; the 8-byte form is invalid. */
  varint(what: string): number {
    const first = this.small(1, what);
    const prefix = first >> 6;
    if (prefix === 0) return first;
    if (prefix === 3) throw new WireError(`${what}: 8-byte varint is not allowed in MLS`);
    const width = prefix === 1 ? 2 : 4;
    let value = first & 0x3f;
    for (const byte of this.raw(width - 1, what)) value = value * 256 + byte;
    const minimum = prefix === 1 ? 1 << 6 : 1 << 14;
    if (value < minimum) throw new WireError(`${what}: varint is not minimally encoded`);
    return value;
  }

  vector(limit: number, what: string): Uint8Array {
    const length = this.varint(what);
    if (length > limit) throw new WireError(`${what}: length ${length} exceeds the limit of ${limit} bytes`);
    return this.raw(length, what);
  }

  sub(limit: number, what: string): Reader {
    return new Reader(this.vector(limit, what));
  }
}

/** What an Add says about who joins: the credential's user id and the leaf's signature key. */
export interface AddedMember {
  /** The basic credential's identity, a big-endian u64, as a decimal string (davey's form). */
  userId: string;
  /** The leaf's signature key: a 65-byte uncompressed P-256 point. */
  signatureKey: Uint8Array;
}

function expectVersion(r: Reader, what: string): void {
  const version = r.small(2, what);
  if (version !== MLS_VERSION) throw new WireError(`${what} ${version} is not MLS 1.0`);
}

function userIdOf(identity: Uint8Array): string {
  if (identity.length !== 8) throw new WireError(`credential identity is ${identity.length} bytes, not a u64 user id`);
  return new Reader(identity).uint(8, 'identity').toString();
}

function skipExtensions(r: Reader): void {
  const ext = r.sub(MAX_EXTENSIONS, 'extensions');
  while (!ext.atEnd) {
    ext.small(2, 'extension_type');
    ext.vector(4096, 'extension_data');
  }
}

function readLeafNode(r: Reader): AddedMember {
  r.vector(MAX_KEY, 'leaf_node.encryption_key');
  const signatureKey = r.vector(MAX_KEY, 'leaf_node.signature_key').slice();
  const credential = r.small(2, 'credential_type');
  if (credential !== CREDENTIAL_BASIC) throw new WireError(`credential_type ${credential} is not basic (1)`);
  const userId = userIdOf(r.vector(MAX_IDENTITY, 'identity'));
  for (const what of ['versions', 'cipher_suites', 'extensions', 'proposals', 'credentials']) {
    r.vector(MAX_SMALL_LIST, `capabilities.${what}`);
  }
  const source = r.small(1, 'leaf_node_source');
  if (source === LEAF_SOURCE_KEY_PACKAGE) {
    r.uint(8, 'not_before');
    r.uint(8, 'not_after');
  } else if (source === LEAF_SOURCE_COMMIT) {
    r.vector(MAX_REF, 'parent_hash');
  }
  skipExtensions(r);
  r.vector(MAX_SIGNATURE, 'leaf_node.signature');
  return { userId, signatureKey };
}

function readKeyPackage(r: Reader): AddedMember {
  expectVersion(r, 'key_package.version');
  r.small(2, 'key_package.cipher_suite');
  r.vector(MAX_KEY, 'init_key');
  const leaf = readLeafNode(r);
  skipExtensions(r);
  r.vector(MAX_SIGNATURE, 'key_package.signature');
  return leaf;
}

/** One MLSMessage carrying a proposal; returns the member an Add adds, null for a Remove. */
function readProposalMessage(r: Reader): AddedMember | null {
  expectVersion(r, 'mls_message.version');
  const wireFormat = r.small(2, 'wire_format');
  if (wireFormat !== WIRE_FORMAT_PUBLIC_MESSAGE) throw new WireError(`wire_format ${wireFormat} is not a PublicMessage (1)`);
  r.vector(MAX_IDENTITY, 'group_id');
  r.uint(8, 'epoch');
  const sender = r.small(1, 'sender_type');
  if (sender === SENDER_MEMBER || sender === SENDER_EXTERNAL) r.small(4, 'sender index');
  r.vector(MAX_MESSAGE, 'authenticated_data');
  const content = r.small(1, 'content_type');
  if (content !== CONTENT_PROPOSAL) throw new WireError(`content_type ${content} is not a proposal (2)`);
  const kind = r.small(2, 'proposal_type');
  let added: AddedMember | null = null;
  if (kind === PROPOSAL_ADD) added = readKeyPackage(r);
  else if (kind === PROPOSAL_REMOVE) r.small(4, 'removed');
  else throw new WireError(`proposal_type ${kind} is not allowed in DAVE (add and remove only)`);
  r.vector(MAX_SIGNATURE, 'signature');
  if (sender === SENDER_MEMBER) r.vector(MAX_REF, 'membership_tag');
  return added;
}

/** The members an op 27 append (`items<V>`, after the operation byte) adds, in order. */
export function addedMembers(items: Uint8Array): AddedMember[] {
  const outer = new Reader(items);
  const messages = outer.sub(MAX_MESSAGE, 'proposals');
  if (!outer.atEnd) throw new WireError('proposals: unexpected trailing bytes');
  const added: AddedMember[] = [];
  while (!messages.atEnd) {
    const member = readProposalMessage(messages);
    if (member !== null) added.push(member);
  }
  return added;
}

/** base64url without padding: how the wire carries signature keys (`identify.d.key`, roster `key`). */
export function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
