// Builds the scene client as served by the proxy: build/client/scene-client.<hash>.js + manifest.json,
// the same shape as the host runtime (runtime/build.mjs) so one loader serves both. Minified,
// deterministic: the hash only moves when the sources or esbuild change.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const outDir = path.resolve(process.argv[2] ?? path.join(repo, 'build', 'client'));

const result = await esbuild.build({
  entryPoints: [path.join(here, 'src', 'index.js')],
  absWorkingDir: repo,
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
});

const code = result.outputFiles[0].contents;
const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
const file = `scene-client.${hash}.js`;

await mkdir(outDir, { recursive: true });
for (const name of await readdir(outDir)) {
  if (/^scene-client\.[0-9a-f]{16}\.js$/.test(name) && name !== file) await rm(path.join(outDir, name));
}
await writeFile(path.join(outDir, file), code);
const manifest = { file, hash, bytes: code.length };
await writeFile(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`${path.relative(repo, path.join(outDir, file))} (${code.length} bytes)`);
