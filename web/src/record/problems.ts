/**
 * Why a record document or entry is refused: one word for programs, a sentence for people.
 * Parsing refusals stay identity's (`IdentityError('malformed')`, from the shared canonical
 * decoder); everything the record's own rules refuse is a RecordError.
 */

export type RecordProblem =
  | 'bad_signature' // the signature does not verify under the key it names
  | 'wrong_summit' // a document for another summit
  | 'not_certified' // the signing device has no good, pinned certificate here
  | 'not_a_signer' // a certified device that is not a signer of its delegation
  | 'out_of_order' // seq or prev do not continue the log
  | 'kind_rule' // refers, answers or seals break the table of docs/record.md
  | 'wrong_key' // the entry or grant names another record key than the summit's
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
