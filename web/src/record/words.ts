/**
 * What the record panel says of each statement and of the record as a whole, in the words a
 * delegate reads ("Agreed by A and B", "Proposed by A — awaiting B"). The readout keeps its own
 * lower-case standings (view.ts), the ones `parley verify` prints.
 */

import type { RecordState } from '../generated/codes';
import { byCodePoint } from '../identity/pins';
import { listOf, type Standing } from './view';

export function standingWords(s: Standing): string {
  const amends = s.amends === null ? '' : ` · amends entry ${s.amends}`;
  if (s.kind === 'position') return `Position of ${s.by}`;
  if (s.kind === 'action') return `Action for ${s.statement.owner || 'no one named'} by ${s.statement.due || 'no date'}`;
  if (s.kind === 'decline') return `${s.by}'s reason for declining entry ${String(s.answers)}`;
  if (s.agreed) return `Agreed by ${listOf([...s.agreedBy].sort(byCodePoint))}${amends}`;
  if (s.declinedBy.length > 0) return `${s.declinedBy.map((d) => `Declined by ${d.delegation}: ${d.reason}`).join('; ')}${amends}`;
  return `Proposed by ${s.by} — awaiting ${listOf(s.awaiting)}${amends}`;
}

/** The record's state line: "Record open · 7 entries", "Closed — sealing", "Sealed by A and B". */
export function stateWords(state: RecordState | null, length: number, sealedBy: readonly string[]): string {
  if (state === null) return 'Record: reading…';
  if (state === 'sealed') return `Sealed by ${listOf([...sealedBy].sort(byCodePoint))}`;
  if (state === 'closed') return sealedBy.length === 0 ? 'Closed — sealing' : `Closed — sealing (sealed by ${listOf([...sealedBy].sort(byCodePoint))})`;
  return `Record open · ${length} ${length === 1 ? 'entry' : 'entries'}`;
}
