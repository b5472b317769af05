/**
 * The readout a delegation exports (docs/record.md "The readout"): the signed record as
 * canonical JSON, which `parley verify` checks offline against the pins, and a printable HTML
 * page of it for people. The JSON is written exactly as Python's
 * `json.dumps(readout, indent=2, sort_keys=True, ensure_ascii=False) + "\n"` writes it, since
 * `parley verify` refuses any file that is not byte for byte that form.
 */

import { base64url } from '../e2ee/mlsWire';
import { hex } from '../identity/encoding';
import { byCodePoint } from '../identity/pins';
import { hasText, type EntryKind } from './entry';
import type { RecordView, Standing } from './view';

export const READOUT_FORMAT = 'parley-readout-v1';

export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

export interface ReadoutEntry {
  readonly entry: string; // parley-record-entry:...
  readonly statement: string; // base64url of the statement; "" for sign and seal
  readonly kind: EntryKind;
  readonly by: string;
  readonly text: string;
  readonly owner: string;
  readonly due: string;
}

export interface Readout {
  readonly format: typeof READOUT_FORMAT;
  readonly summit_id: string;
  readonly exported_by: string;
  readonly certificates: readonly string[]; // every signer's certificate, in the order the log first names it
  readonly signer_lists: readonly string[]; // by delegation name
  readonly entries: readonly ReadoutEntry[];
}

// Python's json escapes, with ensure_ascii=False: quote, backslash and the C0 controls, nothing else.
const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function jsonString(value: string): string {
  // oxlint-disable-next-line no-control-regex -- the control characters are exactly what is escaped
  const escaped = value.replace(/["\\\u0000-\u001f]/g, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `"${escaped}"`;
}

/** `json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)`: keys by code point, as Python sorts str. */
export function canonicalJson(value: Json, indent = ''): string {
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError('a readout holds integers only');
    return String(value);
  }
  if (typeof value === 'boolean' || value === null) return String(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    const items = value as readonly Json[];
    return items.length === 0 ? '[]' : `[\n${items.map((item) => inner + canonicalJson(item, inner)).join(',\n')}\n${indent}]`;
  }
  const record = value as { readonly [key: string]: Json };
  const keys = Object.keys(record).sort(byCodePoint);
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((key) => `${inner}${jsonString(key)}: ${canonicalJson(record[key] ?? null, inner)}`).join(',\n')}\n${indent}}`;
}

/**
 * The readout of this device's verified copy. RangeError if a text is not held (the record key
 * has not come yet): a readout without its texts could not say what was agreed.
 */
export function readoutOf(view: RecordView, exportedBy: string): Readout {
  const certificates = new Map<string, string>();
  const entries = view.log.entries.map(({ entry, device }): ReadoutEntry => {
    if (!certificates.has(hex(device.serial))) certificates.set(hex(device.serial), device.certificate.toText());
    const statement = view.statement(entry.seq);
    if (hasText(entry.entryKind) && statement === null) throw new RangeError(`the text of entry ${entry.seq} is not held yet: the record key has not come`);
    return {
      entry: entry.toText(),
      statement: statement === null ? '' : base64url(statement.toBytes()),
      kind: entry.entryKind,
      by: device.delegation,
      text: statement?.text ?? '',
      owner: statement?.owner ?? '',
      due: statement?.due ?? '',
    };
  });
  const lists = view.book.signerLists().sort((a, b) => byCodePoint(a.delegation, b.delegation));
  return {
    format: READOUT_FORMAT,
    summit_id: view.log.summitId,
    exported_by: exportedBy,
    certificates: [...certificates.values()],
    signer_lists: lists.map((list) => list.toText()),
    entries,
  };
}

/** The readout file's bytes as text: canonical JSON and a final newline. */
export function readoutJson(readout: Readout): string {
  return `${canonicalJson(readout as unknown as Json)}\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#111}
blockquote{margin:.25rem 0 .25rem 1rem;white-space:pre-wrap}li{margin-bottom:1rem}.standing{font-weight:600}
code{font-size:11px;word-break:break-all}@media print{body{margin:0}}`;

/**
 * A printable page of the readout: each statement with its standing, then the signed entries.
 * Self-contained, no scripts; every text from the record is escaped, so a statement cannot add
 * markup to the page.
 */
export function readoutHtml(readout: Readout, standings: readonly Standing[], sealed: boolean): string {
  const statements = standings.map((s) => {
    const action = s.kind === 'action' ? `<div>Owner: ${escapeHtml(s.statement.owner)}; due: ${escapeHtml(s.statement.due)}</div>` : '';
    return `<li><div>${escapeHtml(s.kind)} ${s.seq}, by ${escapeHtml(s.by)}</div><blockquote>${escapeHtml(s.statement.text)}</blockquote>${action}<div class="standing">${escapeHtml(s.text)}</div></li>`;
  });
  const entries = readout.entries.map((e, seq) => `<li>${seq}: ${escapeHtml(e.kind)} by ${escapeHtml(e.by)}<br><code>${escapeHtml(e.entry)}</code></li>`);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8">',
    `<title>Record of summit ${escapeHtml(readout.summit_id)}</title>`,
    `<style>${STYLE}</style></head>`,
    '<body>',
    `<h1>Record of summit ${escapeHtml(readout.summit_id)}</h1>`,
    `<p>Exported by ${escapeHtml(readout.exported_by)}. ${sealed ? 'Sealed by every delegation.' : 'Not sealed: the record may still grow.'}</p>`,
    '<p>Check it offline with <code>parley verify</code> and the delegations\' pinned fingerprints; this page is for reading, the JSON file is what verifies.</p>',
    '<h2>Statements</h2>',
    `<ol>${statements.join('')}</ol>`,
    '<h2>Signed entries</h2>',
    `<ol start="0">${entries.join('')}</ol>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
