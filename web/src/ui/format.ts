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
};

export function formatRole(role: string): string {
  return ROLES[role] ?? role;
}
