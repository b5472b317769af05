/**
 * Why a member is not certified, or a document is refused: one word per reason, for programs,
 * beside a sentence for people. The same words as Parley's Python core (parley.identity.problems),
 * so an alarm reads alike on every client.
 */

export type Problem =
  // A document itself.
  | 'malformed' // not one of our documents, or not in its canonical form
  | 'bad_signature' // forged, altered in any byte, or signed by another key
  | 'wrong_summit' // made for another summit
  | 'not_yet_valid'
  | 'expired'
  | 'revoked' // its serial is on its delegation's latest revocation list
  | 'stale' // a revocation list or pin set older than the one already held
  // A certificate held against the key group, the pins and the roster.
  | 'no_certificate'
  | 'key_mismatch' // certifies another key than the member's leaf carries
  | 'user_id_twice' // two leaves of the key group claim one user id
  | 'unpinned' // signed by a key no delegation of the summit is pinned to
  | 'foreign_delegation' // a pinned delegation's key certifying for another
  | 'not_in_roster'
  | 'roster_mismatch' // delegation, role, people or language differ from the roster
  | 'not_own_delegation' // pins or a certificate not signed by this device's own delegation key
  // An epoch attestation.
  | 'not_a_member'; // from a user id that is not in the attested epoch's key group

/** A refused document or an uncertified member: `problem` for programs, the message for people. */
export class IdentityError extends Error {
  constructor(
    readonly problem: Problem,
    message: string,
  ) {
    super(message);
    this.name = 'IdentityError';
  }
}
