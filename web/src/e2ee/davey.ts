/**
 * The part of davey's API Parley uses, typed without Node's `Buffer` type.
 *
 * davey's own declarations (`@snazzah/davey/index.d.ts`) declare its enums as `const enum`s, which
 * are empty at run time, so the numbers are spelled out here (values from that file).
 */

export const MEDIA_TYPE = { audio: 0, video: 1 } as const;
export const CODEC = { opus: 1, vp8: 2 } as const;
export const SESSION_STATUS = { inactive: 0, pending: 1, awaitingResponse: 2, active: 3 } as const;

/** A Node-style Buffer as davey takes and returns it: a Uint8Array view (on shared wasm memory, for results). */
export type Bytes = Uint8Array;

export interface ProposalsResult {
  commit?: Bytes;
  welcome?: Bytes;
}

/** A P-256 signing key pair; kept for the page's lifetime so a group reset keeps this device's identity. */
export interface SigningKeyPair {
  private: Bytes;
  public: Bytes;
}

export interface DaveySession {
  readonly status: number;
  readonly ready: boolean;
  readonly epoch: bigint | null;
  reinit(protocolVersion: number, userId: string, channelId: string, keyPair?: SigningKeyPair): void;
  reset(): void;
  setExternalSender(externalSenderData: Bytes): void;
  getSerializedKeyPackage(): Bytes;
  processProposals(operationType: number, proposals: Bytes, recognizedUserIds?: string[]): ProposalsResult;
  processWelcome(welcome: Bytes): void;
  processCommit(commit: Bytes): void;
  getEpochAuthenticator(): Bytes | null;
  getVerificationCode(userId: string): Promise<string>;
  encrypt(mediaType: number, codec: number, packet: Bytes): Bytes;
  decrypt(userId: string, mediaType: number, packet: Bytes): Bytes;
  getUserIds(): string[];
  setPassthroughMode(passthroughMode: boolean, transitionExpiry?: number): void;
}

export interface DaveyModule {
  DAVESession: new (protocolVersion: number, userId: string, channelId: string, keyPair?: SigningKeyPair) => DaveySession;
  generateP256Keypair(): SigningKeyPair;
  generateDisplayableCode(data: Bytes, desiredLength: number, groupSize: number): string;
  VERSION: string;
  DAVE_PROTOCOL_VERSION: number;
}
