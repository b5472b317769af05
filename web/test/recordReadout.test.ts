/**
 * The readout (src/record/readout.ts): its JSON is exactly what Python's
 * `json.dumps(..., indent=2, sort_keys=True, ensure_ascii=False) + "\n"` writes (the expected
 * texts below are Python's output, pasted), and its HTML page shows every statement's standing
 * with every text escaped and no script.
 */

import { beforeAll, expect, test } from 'vitest';

import { DeviceCertificate } from '../src/identity/certificate';
import { unbase64url } from '../src/identity/encoding';
import { RecordEntry } from '../src/record/entry';
import { canonicalJson, readoutHtml, readoutJson, readoutOf, type Json, type Readout } from '../src/record/readout';
import { signSignerList } from '../src/record/signers';
import { Statement } from '../src/record/statement';
import { A, B, FakeClock, fullCourse, makeWorld, Scribe, SUMMIT, viewOf, type World } from './recordWorld';

let world: World;
let course: Scribe;

beforeAll(async () => {
  world = await makeWorld();
  course = await Scribe.of(world);
  await fullCourse(course);
});

test('canonical JSON is byte for byte what Python writes: keys by code point, only controls, quotes and backslashes escaped', () => {
  const value: Json = {
    b: [],
    a: { z: 'Les parties conviennent: café, 咖啡 😀 é\u2028', é: 1, Z: 'tab\there "q" back\\slash \u0001\u007f\n', '😀': true, Ａ: null },
    c: {},
    list: ['x', 2, false],
  };
  // python3 -c 'import json; print(repr(json.dumps(v, indent=2, sort_keys=True, ensure_ascii=False) + "\n"))'
  const python = '{\n  "a": {\n    "Z": "tab\\there \\"q\\" back\\\\slash \\u0001\x7f\\n",\n    "z": "Les parties conviennent: café, 咖啡 😀 é\u2028",\n    "é": 1,\n    "Ａ": null,\n    "😀": true\n  },\n  "b": [],\n  "c": {},\n  "list": [\n    "x",\n    2,\n    false\n  ]\n}\n';
  expect(`${canonicalJson(value)}\n`).toBe(python);
});

async function exported(): Promise<{ readout: Readout; json: string }> {
  const view = await viewOf(world, new FakeClock());
  await view.book.acceptList(await signSignerList(world.b.key, SUMMIT, B, 1n, [world.delegateB.certificate.serial]));
  for (const { entry, ciphertext } of course.written) await view.receiveEntry(entry, ciphertext);
  const readout = readoutOf(view, A);
  return { readout, json: readoutJson(readout) };
}

test('a readout holds every entry with its statement, its signers\' certificates and the signer lists, in canonical form', async () => {
  const { readout, json } = await exported();
  expect(`${canonicalJson(JSON.parse(json) as Json)}\n`, 'parsed and written again: the same bytes').toBe(json);
  expect([readout.format, readout.summit_id, readout.exported_by]).toEqual(['parley-readout-v1', SUMMIT, A]);
  expect(readout.certificates.map((text) => DeviceCertificate.fromText(text).claim.delegation)).toEqual([A, B]);
  expect(readout.signer_lists).toHaveLength(1);
  expect(readout.entries.map((e) => [e.kind, e.by])).toEqual(course.written.map(({ entry }, i) => [entry.entryKind, [0, 2, 6, 5, 8, 9].includes(i) ? A : B]));
  const action = readout.entries[8];
  expect([action?.text, action?.owner, action?.due]).toEqual(['Draft the joint statement', 'José Núñez', 'Friday 12:00']);
  expect(Statement.fromBytes(unbase64url(action?.statement ?? '')).text).toBe('Draft the joint statement');
  expect(readout.entries.every((e, i) => RecordEntry.fromText(e.entry).toText() === course.written[i]?.entry.toText())).toBe(true);
  expect(readout.entries.filter((e) => e.statement === '').map((e) => e.kind)).toEqual(['sign', 'sign', 'seal', 'seal']);
  expect(json).toContain('"text": "Les parties conviennent: café, 咖啡."');
});

test('a readout needs the record key: without it, export refuses rather than leave texts out', async () => {
  const view = await viewOf(world, new FakeClock(), false);
  const [first] = course.written;
  if (first === undefined) throw new Error('no entry');
  await view.receiveEntry(first.entry, first.ciphertext);
  expect(() => readoutOf(view, A)).toThrow('the text of entry 0 is not held yet');
});

test('the HTML readout shows each standing, escapes every text, and runs nothing', async () => {
  const scribe = await Scribe.of(world);
  await scribe.write(world.principalA, 'position', '<script>alert("x")</script> & <b>bold</b>');
  const view = await viewOf(world, new FakeClock());
  for (const { entry, ciphertext } of scribe.written) await view.receiveEntry(entry, ciphertext);
  const html = readoutHtml(readoutOf(view, A), view.standings(), view.log.sealed);
  expect(html).not.toMatch(/<script/i);
  expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#60;b&#62;bold&#60;/b&#62;');
  expect(html).toContain('position of Delegation A');
  expect(html).toContain('Not sealed');
  const { readout } = await exported();
  const sealedView = await viewOf(world, new FakeClock());
  for (const { entry, ciphertext } of course.written) await sealedView.receiveEntry(entry, ciphertext);
  const sealed = readoutHtml(readout, sealedView.standings(), sealedView.log.sealed);
  expect(sealed).toContain('Sealed by every delegation.');
  expect(sealed).toContain('agreed by Delegation A and Delegation B');
  expect(sealed).toContain('position of Delegation A, not agreed (declined by Delegation B: Not before the ministers have seen it.)');
});
