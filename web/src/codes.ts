/** Verification codes as people read them: digits in groups of five ("12345 67890 ..."). */

export const GROUP_CODE_DIGITS = 30;
export const PAIRWISE_CODE_DIGITS = 45;
export const CODE_GROUP_SIZE = 5;

/** '123451234512345' -> '12345 12345 12345' (spaces already there are kept as one). */
export function formatCode(code: string): string {
  const digits = code.replace(/\s+/g, '');
  if (!/^\d+$/.test(digits) || digits.length % CODE_GROUP_SIZE !== 0) {
    throw new Error('a code is a run of digits in whole groups of five');
  }
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += CODE_GROUP_SIZE) groups.push(digits.slice(i, i + CODE_GROUP_SIZE));
  return groups.join(' ');
}
