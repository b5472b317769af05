/**
 * Why a member is not certified, or a document is refused: one word per reason, for programs,
 * beside a sentence for people. The words are the wire contract's (`IdentityProblem`, generated
 * from parley.protocol.codes), so an alarm reads alike on every client.
 */

import type { IdentityProblem } from '../generated/codes';

export type Problem = IdentityProblem;

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
