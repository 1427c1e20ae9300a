// The file the proxy serves at /runtime/scene-client.js: built the way `make install` builds it,
// it must stay within the budget (6 KB gzip) and import nothing (React is the host's).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));

test('the served bundle is at most 6 KB gzip, has no import left, and its name is its hash', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'scene-client-'));
  try {
    execFileSync(process.execPath, [path.join(here, '..', 'build.mjs'), out], { stdio: 'pipe' });
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    assert.match(manifest.file, /^scene-client\.[0-9a-f]{16}\.js$/);
    const code = readFileSync(path.join(out, manifest.file));
    assert.equal(code.length, manifest.bytes);
    const gzipped = gzipSync(code, { level: 9 }).length;
    assert.ok(gzipped <= 6 * 1024, `${gzipped} bytes gzip`);
    const text = code.toString('utf8');
    assert.doesNotMatch(text, /\bimport\s*[{*\w][^(]*\bfrom\s*["']/); // no static import
    assert.doesNotMatch(text, /\brequire\(/);
    for (const name of ['createSceneClient', 'installHostGlobals', 'useSceneComponent', 'useProject',
      'SceneBoundary', 'ServerScene', 'SceneLoadError']) {
      assert.match(text, new RegExp(`\\b${name}\\b`), `exports ${name}`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
