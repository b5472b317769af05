/** Limits of the `identify` op (docs/protocol.md): 1 to 12 names of at most 80 characters. */
export const MAX_PEOPLE = 12;
export const MAX_NAME = 80;
