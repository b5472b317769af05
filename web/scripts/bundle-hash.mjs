// Prints the bundle hash of a built client (default: dist/), the figure `parley web-hash` prints for
// what a server serves: SHA-256 over the manifest, one line "<sha256 hex>  <path>\n" per file
// (path relative, with '/'), sorted by path bytewise; `sha256sum` writes the same lines.
// Definition and checks: src/parley/server/web_bundle.py.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const root = process.argv[2] ?? 'dist';
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile()) yield path;
  }
}

const listed = [...files(root)]
  .map((path) => ({ path: relative(root, path).split(sep).join('/'), data: readFileSync(path) }))
  .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
const manifest = listed.map(({ path, data }) => `${sha256(data)}  ${path}\n`).join('');
console.log(`bundle sha256 ${sha256(manifest)} (${listed.length} files in ${root}; compare with: parley web-hash URL)`);
