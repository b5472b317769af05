/**
 * tests/unit/record/vectors.json (the Python record core's known answers), copied here as
 * fixtures/recordVectors.json and typed for the browser's port: the same bytes on both sides.
 */

import { readFileSync } from 'node:fs';

import { privateJwk } from '../src/e2ee/signingKey';
import { deviceSigner, type DeviceSigner } from '../src/identity/deviceKey';
import { fromHex } from './identityVectors';

interface StatementVector {
  salt: string;
  text: string;
  owner: string;
  due: string;
  hex: string;
  commitment: string;
  nonce: string;
  ciphertext: string;
}

export interface EntryVector {
  seq: number;
  kind: 'position' | 'outcome' | 'action' | 'sign' | 'decline' | 'seal';
  prev: string;
  refers: string;
  commitment: string;
  key_id: string;
  epoch: number;
  time: number;
  signer: string;
  body: string;
  text: string;
  hash: string;
}

interface RecordVectors {
  summit_id: string;
  delegation_seed: string;
  delegation_public_key: string;
  device_private_scalar: string;
  device_key: string;
  x25519: { ed25519_seed: string; ed25519_public: string; x25519_private: string; x25519_public: string }[];
  record_key: { secret: string; key_id: string };
  statements: StatementVector[];
  entries: EntryVector[];
  head: { length: number; user_id: number; body: string; text: string };
  signers: { delegation: string; sequence: number; serials: string[]; text: string };
  device_grant: { recipient_private_scalar: string; recipient: string; ephemeral_private_scalar: string; nonce: string; body: string; text: string };
  delegation_grant: { ephemeral_private: string; ephemeral_public: string; nonce: string; body: string; text: string };
  refused: { name: string; kind: 'statement' | 'parley-record-entry'; hex: string }[];
}

export const FIXTURE = new URL('fixtures/recordVectors.json', import.meta.url);
export const REPO_VECTORS = new URL('../../tests/unit/record/vectors.json', import.meta.url);
export const RECORD = JSON.parse(readFileSync(FIXTURE, 'utf8')) as RecordVectors;

/** The vectors' device signing as the browser does, through its private JWK. */
export function recordDeviceSigner(): Promise<DeviceSigner> {
  return deviceSigner(privateJwk({ private: fromHex(RECORD.device_private_scalar), public: fromHex(RECORD.device_key) }));
}
