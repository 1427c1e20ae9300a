// Builds the browser host runtime: build/runtime/host-runtime.<hash>.js + manifest.json.
// Content-addressed so it can be served immutable; deterministic so the hash only moves
// when the source or the bundled packages change.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const outDir = path.resolve(process.argv[2] ?? path.join(repo, 'build', 'runtime'));

const result = await esbuild.build({
  entryPoints: [path.join(here, 'src', 'index.jsx')],
  absWorkingDir: repo,
  bundle: true,
  write: false,
  format: 'iife',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});

const code = result.outputFiles[0].contents;
const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
const file = `host-runtime.${hash}.js`;

await mkdir(outDir, { recursive: true });
// Old bundles would otherwise pile up with every source change.
for (const name of await readdir(outDir)) {
  if (/^host-runtime\.[0-9a-f]{16}\.js$/.test(name) && name !== file) await rm(path.join(outDir, name));
}
await writeFile(path.join(outDir, file), code);
const manifest = { file, hash, bytes: code.length };
await writeFile(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`${path.relative(repo, path.join(outDir, file))} (${(code.length / 1024).toFixed(0)} KiB)`);
