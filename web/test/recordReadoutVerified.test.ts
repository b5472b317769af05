/**
 * The browser's readout checked by the Python core's own `parley verify`, offline, against the
 * delegations' fingerprints: the strongest proof the two write the same canonical form. It runs
 * where the repository has the Python core and its virtualenv (after `scripts/setup`); a
 * checkout of the web client alone skips it.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect, test } from 'vitest';

import { readoutJson, readoutOf } from '../src/record/readout';
import { A, B, FakeClock, fullCourse, makeWorld, Scribe, viewOf } from './recordWorld';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = join(ROOT, '.venv/bin/python');
const HAS_CORE = existsSync(PYTHON) && existsSync(join(ROOT, 'src/parley/record/commands.py'));

test.runIf(HAS_CORE)("parley verify (Python) takes the browser's readout and says what it agreed", async () => {
  const world = await makeWorld();
  const course = await Scribe.of(world);
  await fullCourse(course);
  const view = await viewOf(world, new FakeClock());
  for (const { entry, ciphertext } of course.written) await view.receiveEntry(entry, ciphertext);
  const file = join(mkdtempSync(join(tmpdir(), 'parley-readout-')), 'readout.json');
  writeFileSync(file, readoutJson(readoutOf(view, A)));
  const pins = ['--pin', `${A}=${(await world.a.key.fingerprint()).digits}`, '--pin', `${B}=${(await world.b.key.fingerprint()).digits}`];
  const out = execFileSync(PYTHON, ['-m', 'parley.cli', 'verify', file, ...pins, '--claim', 'The teams will keep in contact.'], { cwd: ROOT, encoding: 'utf8' });
  expect(out).toContain('VERIFIED: the record of summit summit-record, exported by Delegation A');
  expect(out).toContain('Claim: agreed by Delegation A and Delegation B');
  for (const standing of view.standings()) expect(out).toContain(`    ${standing.text}\n`);
});
