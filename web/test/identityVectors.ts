/**
 * tests/unit/identity/vectors.json, the known answers Parley's Python core is held to, typed for
 * the browser's port: the same file is the fixture on both sides.
 */

import { readFileSync } from 'node:fs';

import type { Role } from '../src/generated/codes';
import { privateJwk } from '../src/e2ee/signingKey';
import { DeviceClaim } from '../src/identity/claim';
import { deviceSigner, type DeviceSigner } from '../src/identity/deviceKey';
import type { Bytes } from '../src/identity/encoding';
import type { Problem } from '../src/identity/problems';

interface RosterJson {
  delegation_id: string;
  delegation: string;
  role: Role;
  people: string[];
  language: string | null;
}

export interface Refusal {
  name: string;
  check: 'parse' | 'verify_certificate' | 'accept_certificate' | 'verify_pins' | 'revocation_book' | 'verify_request' | 'verify_attestation';
  text: string;
  problem: Problem;
  kind?: string;
  summit_id?: string;
  now?: number;
  own?: string;
  key?: string;
  revocations?: string[];
  held?: string | string[] | null;
}

export interface EpochScenario {
  name: string;
  summit_id: string;
  own: string;
  pins: string;
  certificates: string[];
  revocations: string[];
  now: number;
  leaves: [number, string][];
  roster: Record<string, RosterJson>;
  verdicts: { user_id: number; delegation: string | null; problem: Problem | null; text: string }[];
  certified: boolean;
  summary: string;
}

interface Vectors {
  delegation_public_key: string;
  fingerprint: string;
  other_delegation_public_key: string;
  other_fingerprint: string;
  device_private_scalar: string;
  device_key: string;
  claim: { summit_id: string; delegation_id: string; delegation: string; role: Role; people: string[]; language: string | null; user_id: number };
  certificate: { not_before: number; not_after: number; serial: string; text: string };
  revocations: { sequence: number; issued_at: number; serials: string[]; text: string };
  pins: { sequence: number; text: string };
  enrollment_request: { body: string; code: string; text: string };
  attestation: { epoch: number; authenticator: string; body: string; hex: string };
  key_file: { passphrase: string; file: Record<string, string | number> };
  officer: { user_id: number; proof: string };
  refused: Refusal[];
  epoch_checks: EpochScenario[];
}

export const VECTORS = JSON.parse(readFileSync(new URL('../../tests/unit/identity/vectors.json', import.meta.url), 'utf8')) as Vectors;

export function fromHex(text: string): Bytes {
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

const c = VECTORS.claim;
export const CLAIM = new DeviceClaim(c.summit_id, c.delegation_id, c.delegation, c.role, c.people, c.language, fromHex(VECTORS.device_key), c.user_id);

/** The vectors' device signing as the browser does, through its private JWK (e2ee/signingKey.ts). */
export function vectorDeviceSigner(): Promise<DeviceSigner> {
  return deviceSigner(privateJwk({ private: fromHex(VECTORS.device_private_scalar), public: fromHex(VECTORS.device_key) }));
}

export function rosterEntryOf(json: RosterJson) {
  return { delegationId: json.delegation_id, delegation: json.delegation, role: json.role, people: json.people, language: json.language };
}
