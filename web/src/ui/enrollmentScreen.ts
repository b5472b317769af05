/**
 * Enrollment, after Join in a summit that admits certified devices only: this device shows its
 * request's code (and text) until its delegation's security officer approves it. Nothing is sent
 * or received meanwhile but the request; the page goes on by itself once the certificate comes.
 */

import type { Call } from '../call';
import { h, setText } from './dom';

export interface EnrollmentScreen {
  el: HTMLElement;
  update(): void;
}

export function enrollmentScreen(call: Call): EnrollmentScreen {
  const code = h('div', { class: 'code big-code', testid: 'enrollment-code' });
  const delegation = h('dd', { testid: 'enrollment-delegation' });
  const people = h('dd', { testid: 'enrollment-people' });
  const userId = h('dd', { testid: 'enrollment-user' });
  const request = h('textarea', { class: 'enrollment-request', testid: 'enrollment-request', attrs: { readonly: '', rows: '4', 'aria-label': 'Enrollment request' } });
  const problem = h('p', { class: 'banner alarm', testid: 'enrollment-problem', attrs: { role: 'alert' } });
  const steps = h(
    'div',
    {},
    h('p', { text: 'Show this code to your security officer. They compare it with the code on their screen and approve this device.' }),
    code,
    h('details', {}, h('summary', { text: 'The request as text (for an officer who copies it by hand)' }), request),
  );
  const leave = h('button', { testid: 'enrollment-leave-button', text: 'Leave', attrs: { type: 'button' }, on: { click: () => call.leave() } });
  const el = h(
    'section',
    { class: 'card lobby enrollment', testid: 'enrollment-screen', attrs: { role: 'status', 'aria-live': 'polite' } },
    h('h1', { text: 'This device needs its delegation’s certificate' }),
    h(
      'dl',
      { class: 'facts' },
      h('div', {}, h('dt', { text: 'Delegation' }), delegation),
      h('div', {}, h('dt', { text: 'At this device' }), people),
      h('div', {}, h('dt', { text: 'Device' }), userId),
    ),
    problem,
    steps,
    h('p', { class: 'hint', text: 'Every member of this summit is certified by its own delegation, and every device checks every other. This page goes on by itself once the officer approves.' }),
    leave,
  );

  const update = (): void => {
    const enrollment = call.enrollment;
    el.hidden = !call.enrolling || enrollment === null;
    if (el.hidden || enrollment === null) return;
    setText(delegation, call.self?.delegation ?? '');
    setText(people, call.self?.people.join(', ') ?? '');
    setText(userId, call.userId ?? '');
    problem.hidden = enrollment.problem === null;
    setText(problem, enrollment.problem ?? '');
    steps.hidden = enrollment.request === null && enrollment.problem !== null;
    setText(code, enrollment.code ?? 'Making the request…');
    if (request.value !== (enrollment.request ?? '')) request.value = enrollment.request ?? '';
  };

  return { el, update };
}
