// The scene's source map, kept true through our rewrites of esbuild's output.
//
// esbuild maps its own output. After it, the compiler rewrites that output twice: the leading host
// imports become `const` bindings (bindHostImports: a run of lines replaced by another, of another
// length) and strings that look like import specifiers get a character inserted
// (escapeSpecifierLookalikes: insertions within lines). `followEdit` carries the decoded mappings
// across either edit; `finish` keeps only the scene's own source, under its public name, with the TSX
// as written (esbuild may have parsed a rewritten copy: a default export appended, a destructuring
// deduplicated, both below or within the original lines).
//
// Mappings are decoded and encoded with @jridgewell/sourcemap-codec (pinned in package.json): the
// segments are [generatedColumn, sourceIndex, originalLine, originalColumn, nameIndex?], 0-based.

import { decode, encode } from '@jridgewell/sourcemap-codec';

const LINE_BREAK = /\r\n|\r|\n/;

function lines(text) {
  return text.split('\n');
}

/** old column -> new column on a line that only gained characters; null when it did not only gain. */
function insertionsMap(before, after) {
  if (after.length < before.length) return null;
  const shift = new Int32Array(before.length + 1);
  let j = 0;
  for (let i = 0; i < before.length; i++) {
    while (j < after.length && after[j] !== before[i]) j++;
    if (j === after.length) return null;
    shift[i] = j - i;
    j++;
  }
  shift[before.length] = after.length - before.length;
  return (column) => column + shift[Math.min(column, before.length)];
}

/** The decoded mappings of `oldCode` carried over to `newCode`, which differs in one run of lines or within lines. */
export function followEdit(decoded, oldCode, newCode) {
  if (oldCode === newCode) return decoded;
  const a = lines(oldCode);
  const b = lines(newCode);
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix
    && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) suffix++;
  const out = decoded.slice(0, prefix);
  if (a.length === b.length) {
    // the same lines, some with characters inserted: shift what follows each insertion
    for (let i = prefix; i < a.length - suffix; i++) {
      const remap = insertionsMap(a[i], b[i]);
      const segments = decoded[i] ?? [];
      out.push(remap === null ? [] : segments.map((s) => [remap(s[0]), ...s.slice(1)]));
    }
  } else {
    // a run of lines replaced (the import statements by their bindings): the new lines map to nothing
    for (let i = prefix; i < b.length - suffix; i++) out.push([]);
  }
  for (let i = a.length - suffix; i < a.length; i++) out.push(decoded[i] ?? []);
  return out;
}

/**
 * The map as served: only the scene's own source (adapter modules dropped), named `sourceName`, with
 * `source` as its content; segments pointing past the scene's lines (an appended default export) dropped.
 */
export function finish(raw, decoded, sceneFile, sourceName, source) {
  const scene = raw.sources.findIndex((s) => s === sceneFile || s.endsWith(`/${sceneFile}`));
  const lengths = source.split(LINE_BREAK).map((l) => l.length);
  const mappings = decoded.map((segments) => {
    const kept = [];
    for (const s of segments) {
      // past the scene's text: what the compiler appended (`export default Scene;` after a final newline)
      if (s.length >= 4 && s[1] === scene && s[2] < lengths.length && s[3] <= lengths[s[2]]) kept.push(s.length === 5 ? [s[0], 0, s[2], s[3], s[4]] : [s[0], 0, s[2], s[3]]);
    }
    return kept;
  });
  return {
    version: 3,
    sources: [sourceName],
    sourcesContent: [source],
    names: raw.names ?? [],
    mappings: encode(mappings),
  };
}

export { decode };
