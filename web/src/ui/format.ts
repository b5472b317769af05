/** Times and durations as people read them, in their own locale and time zone. */

export function formatDuration(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h === 0) return `${m} min`;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

export function formatSchedule(startIso: string, minutes: number): { date: string; time: string } {
  const start = new Date(startIso);
  if (Number.isNaN(start.getTime())) return { date: startIso, time: '' };
  const end = new Date(start.getTime() + minutes * 60_000);
  const date = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' }).format(start);
  const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  const zone =
    new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(start).find((p) => p.type === 'timeZoneName')?.value ?? '';
  return { date, time: `${clock.format(start)}–${clock.format(end)} ${zone} (${formatDuration(minutes)})` };
}

const ROLES: Record<string, string> = {
  host: 'Host',
  principal: 'Principal',
  delegate: 'Delegate',
  observer: 'Observer',
  press: 'Press',
  interpreter: 'Interpreter',
};

export function formatRole(role: string): string {
  return ROLES[role] ?? role;
}

let languageNames: Intl.DisplayNames | null | undefined;

/** A language tag as a name in the reader's language ("ru" → "Russian"); the tag itself when unknown. */
export function languageName(tag: string): string {
  if (languageNames === undefined) {
    try {
      languageNames = new Intl.DisplayNames(undefined, { type: 'language', fallback: 'none' });
    } catch {
      languageNames = null;
    }
  }
  try {
    return languageNames?.of(tag) ?? tag.toUpperCase();
  } catch {
    return tag.toUpperCase(); // not a well-formed tag
  }
}

/** A channel for people: "Floor" or the language's name. */
export function channelName(channel: string | null): string {
  return channel === null ? 'Floor' : languageName(channel);
}
