/**
 * The device keeps what it chose to hear, per summit, so a reload or a rejoin keeps it
 * (docs/protocol.md: "the choice is kept on the device"). A listener's channel and an
 * interpreter's source are kept apart: the same browser may do both in one summit.
 */

import type { Channel } from './channels';

function key(summitId: string, interpreter: boolean): string {
  return `parley.${interpreter ? 'source' : 'channel'}.${summitId}`;
}

/** The stored choice; undefined when there is none (or storage is unavailable or holds junk). */
export function loadChoice(summitId: string, interpreter: boolean): Channel | undefined {
  try {
    const raw = localStorage.getItem(key(summitId, interpreter));
    if (raw === null) return undefined;
    const value: unknown = JSON.parse(raw);
    return value === null || typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

export function saveChoice(summitId: string, interpreter: boolean, channel: Channel): void {
  try {
    localStorage.setItem(key(summitId, interpreter), JSON.stringify(channel));
  } catch {
    // Private mode or full storage: the choice holds for this stay only.
  }
}
