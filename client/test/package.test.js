// "Installable from the repo": the packed package installs into an app with no other package and
// its `exports` give the documented API, to ES module importers and to TypeScript (index.d.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'],
  { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000 });

test('the packed client installs into an app and exports the documented API', () => {
  const app = mkdtempSync(path.join(tmpdir(), 'scene-client-app-'));
  try {
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', app], root))[0];
    const files = packed.files.map((f) => f.path).sort();
    assert.deepEqual(files, ['index.d.ts', 'package.json', 'src/client.js', 'src/core.js', 'src/index.js', 'src/positions.js', 'src/react.js']);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    npm(['install', '--offline', path.join(app, packed.filename)], app);
    const installed = path.join(app, 'node_modules', '@artifact-proxy', 'scene-client');
    assert.ok(existsSync(path.join(installed, 'index.d.ts')));
    assert.deepEqual(readdirSync(path.join(app, 'node_modules')).sort(), ['.package-lock.json', '@artifact-proxy']);
    const exported = execFileSync(process.execPath, ['--input-type=module', '-e',
      "const m = await import('@artifact-proxy/scene-client'); console.log(Object.keys(m).sort().join(' '))"],
    { cwd: app, encoding: 'utf8' }).trim();
    assert.equal(exported, 'SceneBoundary SceneError SceneLoadError SceneLoading ServerScene createSceneClient '
      + 'installHostGlobals projectFromModule useProject useSceneComponent useSceneModule');
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
    assert.deepEqual(Object.keys(manifest.dependencies ?? {}), []); // React is the host's
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});
