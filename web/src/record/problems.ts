/**
 * Why a record document or entry is refused: one word for programs, a sentence for people.
 * Parsing refusals stay identity's (`IdentityError('malformed')`, from the shared canonical
 * decoder); everything the record's own rules refuse is a RecordError.
 */

export type RecordProblem =
  // The rules' problems, the same words as parley.record.rules.RecordProblem:
  | 'wrong_summit'
  | 'out_of_order' // seq is not the log's length
  | 'forked' // prev is not the log's head
  | 'unknown_signer' // no good, pinned certificate with the signer's serial
  | 'bad_certificate' // the signer's certificate is not valid at the entry's time
  | 'not_a_signer' // neither a principal nor on its delegation's signer list
  | 'bad_signature'
  | 'wrong_key' // another record key than the summit's
  | 'bad_reference' // refers to no outcome, its own delegation's, or another head
  | 'answered' // a delegation signing, declining or sealing twice
  | 'sealed' // anything but a seal after the first seal
  // The client's own: a text (beside the entry) or a signer list it cannot take.
  | 'bad_text' // the ciphertext is missing, too large, or does not open to its commitment
  | 'stale'; // a signer list that cannot replace the one held

export class RecordError extends Error {
  constructor(
    readonly problem: RecordProblem,
    message: string,
  ) {
    super(message);
    this.name = 'RecordError';
  }
}
