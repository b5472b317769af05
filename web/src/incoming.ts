/**
 * The boundary of the signalling socket: every text frame the server sends is checked here, whole,
 * against the validators generated from the protocol's schema (src/generated, made by
 * scripts/generate-wire from parley.protocol), before anything else reads it. An op the schema
 * does not name, or a known op of another shape (a field missing, extra, or of the wrong type), is
 * refused: nothing casts it into a type it may not have. The refusal says where the frame broke,
 * never what it held (an op may carry SDP, keys or tokens).
 */

import { serverOps, type SchemaError, type Validator } from './generated/validate';
import type { DaveServerOp, ServerOp } from './generated/wire';

export type Incoming =
  /** A named op (ready, roster, error...). */
  | { kind: 'op'; op: ServerOp }
  /** One of DAVE's numbered JSON ops (11, 13, 21, 22, 24). */
  | { kind: 'dave'; op: DaveServerOp }
  /** Not an op this client may receive: `reason` is safe to log (op names and field paths only). */
  | { kind: 'refused'; reason: string };

const VALIDATORS: Readonly<Record<string, Validator<ServerOp | DaveServerOp>>> = serverOps;

/** How a refusal names the op: only what looks like an op name or opcode is repeated. */
function opLabel(op: unknown): string {
  if (typeof op === 'number' && Number.isSafeInteger(op)) return String(op);
  if (typeof op === 'string' && /^[a-z_]{1,32}$/.test(op)) return `"${op}"`;
  return 'without a readable name';
}

/** Where a value broke the schema: its JSON Pointer and the rule ("/d/devices/0/user_id: type"). */
function where(errors: readonly SchemaError[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return 'the schema';
  const path = first.instancePath.replace(/[^A-Za-z0-9_/~-]/g, '?').slice(0, 80);
  return `${path || '/'}: ${first.keyword}`;
}

/** The check every text frame from the server passes, counting and logging what it refuses (the count is in the test state). */
export class ServerFrames {
  /** Frames refused since this was made (one per stay: it outlives reconnections). */
  refused = 0;

  constructor(private readonly log: (line: string) => void = (line) => console.warn(line)) {}

  read(text: string): Incoming {
    const incoming = readServerFrame(text);
    if (incoming.kind === 'refused') {
      this.refused += 1;
      this.log(`parley: refused a frame from the server: ${incoming.reason}`);
    }
    return incoming;
  }
}

/** One text frame from the server: the op it is, checked whole, or why it is refused. */
export function readServerFrame(text: string): Incoming {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { kind: 'refused', reason: 'a frame that is not JSON' };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { kind: 'refused', reason: 'a frame that is not a JSON object' };
  }
  const op: unknown = (message as { op?: unknown }).op;
  const key = typeof op === 'number' || typeof op === 'string' ? String(op) : '';
  const validate = Object.hasOwn(VALIDATORS, key) ? VALIDATORS[key] : undefined;
  if (!validate) return { kind: 'refused', reason: `unknown op ${opLabel(op)}` };
  if (!validate(message)) return { kind: 'refused', reason: `op ${opLabel(op)} of the wrong shape (${where(validate.errors)})` };
  return typeof message.op === 'number' ? { kind: 'dave', op: message } : { kind: 'op', op: message };
}
