/**
 * The summit course in the header: the phase in words, the countdown to the end on the server's
 * clock (hh:mm:ss; "Running over time" past the end when the summit may go on), the lock, the
 * press badge, and the banner for the server's clock warnings (10 and 2 minutes before the end).
 */

import type { Call } from '../call';
import { formatClock, parseIso, PHASE_TEXT } from '../course';
import { h, setText } from './dom';
import { icon } from './icons';

/** Under this much time left the clock turns amber, then red (the warnings come at 10 and 2). */
const AMBER_MS = 10 * 60_000;
const RED_MS = 2 * 60_000;
const TICK_MS = 250;

export interface CourseBar {
  /** Pills for the header's status row. */
  pills: HTMLElement[];
  /** The clock warning banner (goes with the other banners). */
  banner: HTMLElement;
  update(): void;
  dispose(): void;
}

function localTime(iso: string): string {
  const at = parseIso(iso);
  if (!Number.isFinite(at)) return '';
  return new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(new Date(at));
}

export function courseBar(call: Call): CourseBar {
  const pressBadge = h('span', { class: 'pill press-badge', testid: 'press-badge', text: 'Press — you see the opening only' });
  const phase = h('span', { class: 'pill phase', testid: 'phase', attrs: { role: 'status' } });
  const locked = h('span', { class: 'pill locked', testid: 'locked-indicator', title: 'No new devices can join' }, icon('lock'), h('span', { text: 'Locked' }));
  const clockLabel = h('span', { class: 'clock-label' });
  const clockTime = h('span', { class: 'clock-time' });
  const clock = h('span', { class: 'pill clock', testid: 'clock', attrs: { role: 'timer', 'aria-live': 'off' } }, icon('clock'), clockLabel, clockTime);
  const banner = h('div', { class: 'banner warning clock-warning', testid: 'clock-warning', attrs: { role: 'alert' } });

  const update = (): void => {
    const info = call.course.info;
    const closed = call.connection === 'closed';
    pressBadge.hidden = closed || !call.press;
    phase.hidden = closed || info === null;
    locked.hidden = closed || info === null || !info.locked;
    clock.hidden = closed || info === null;
    banner.hidden = true;
    if (info === null || closed) return;

    setText(phase, PHASE_TEXT[info.phase] ?? info.phase);
    phase.dataset.phase = info.phase;

    const left = call.course.remainingMs();
    let state: 'running' | 'amber' | 'red' | 'overrun' | 'over' | 'ended';
    if (info.phase === 'ended' || left === null) {
      state = 'ended';
      setText(clockLabel, info.phase === 'ended' ? 'Ended' : '');
      setText(clockTime, info.phase === 'ended' ? '00:00:00' : '--:--:--');
    } else if (left >= 0) {
      state = left <= RED_MS ? 'red' : left <= AMBER_MS ? 'amber' : 'running';
      setText(clockLabel, 'Time left');
      setText(clockTime, formatClock(left));
    } else if (call.course.overrunAllowed) {
      state = 'overrun';
      setText(clockLabel, 'Running over time');
      setText(clockTime, `+${formatClock(-left)}`);
    } else {
      state = 'over';
      setText(clockLabel, 'Time is up');
      setText(clockTime, '00:00:00');
    }
    clock.dataset.state = state;
    const end = localTime(info.ends_at);
    clock.title = end ? `The summit ends at ${end}` : '';

    // The latest warning stays up until the end (then the clock says what happens).
    const minutes = call.course.warnings.at(-1);
    if (minutes !== undefined && left !== null && left > 0 && info.phase !== 'ended') {
      banner.hidden = false;
      banner.dataset.minutesLeft = String(minutes);
      const stop = info.overrun ? '' : ' It stops then.';
      setText(banner, `${minutes} ${minutes === 1 ? 'minute' : 'minutes'} left: the summit ends at ${end}.${stop}`);
    }
  };

  const timer = window.setInterval(() => {
    update();
    if (call.connection === 'closed') window.clearInterval(timer);
  }, TICK_MS);

  return { pills: [pressBadge, phase, locked, clock], banner, update, dispose: () => window.clearInterval(timer) };
}
