// Builds the browser host runtime into build/runtime/:
//   host-runtime.<hash>.js  the bundle (content-addressed, deterministic: the hash only moves when
//                           the bindings or the bundled packages change)
//   globals.json            each global's export names and its package@version, which the
//                           compiler checks scene imports against (and hashes)
//   globals.node.mjs        the same bindings built for Node (the compiler tests render scenes with it)
//   manifest.json           {file, hash, bytes, gzipBytes, brotliBytes, globals}
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { bundledFamilies, googleFontsPlugin } from './fonts-plugin.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const outDir = path.resolve(process.argv[2] ?? path.join(repo, 'build', 'runtime'));

// The package behind each global (src/globals.js); with its installed version it goes into
// globals.json, for the compiler's messages and the versions an operator sees.
const GLOBAL_PACKAGES = {
  React: 'react', ReactDOM: 'react-dom', Remotion: 'remotion', RemotionPlayer: '@remotion/player',
  RemotionShapes: '@remotion/shapes', RemotionPaths: '@remotion/paths', RemotionTransitions: '@remotion/transitions',
  RemotionGoogleFonts: '@remotion/google-fonts', IconifyIcon: '@iconify/react', LucideIcons: 'lucide-react',
  HeroiconsSolid: '@heroicons/react', HeroiconsOutline: '@heroicons/react',
};

const families = bundledFamilies();

const common = {
  absWorkingDir: repo,
  bundle: true,
  write: false,
  legalComments: 'none',
  charset: 'utf8',
  jsx: 'automatic',
  logLevel: 'warning',
  plugins: [googleFontsPlugin(families)],
};

const result = await esbuild.build({
  ...common,
  entryPoints: [path.join(here, 'src', 'index.jsx')],
  format: 'iife',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  define: { 'process.env.NODE_ENV': '"production"' },
});

// The export names, read from the same binding module evaluated in Node (packages from node_modules).
async function exportNames() {
  const probe = await esbuild.build({
    ...common,
    entryPoints: [path.join(here, 'src', 'globals.js')],
    format: 'esm',
    platform: 'node',
    packages: 'external',
  });
  // Kept: the compiler tests' Node harness renders scenes with these same bindings.
  const file = path.join(outDir, 'globals.node.mjs');
  await mkdir(outDir, { recursive: true });
  await writeFile(file, probe.outputFiles[0].contents);
  {
    const { globals } = await import(pathToFileURL(file).href);
    const keysOf = (value) => Object.keys(value).filter((n) => n !== '__esModule').sort();
    const names = {};
    for (const key of Object.keys(globals)) names[key] = keysOf(globals[key]);
    // Per-module properties (`@remotion/google-fonts/Inter` -> RemotionGoogleFonts["Inter"]).
    for (const family of families) names[`RemotionGoogleFonts[${JSON.stringify(family)}]`] = keysOf(globals.RemotionGoogleFonts[family]);
    return Object.fromEntries(Object.entries(names).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

async function versionOf(name) {
  return JSON.parse(await readFile(path.join(repo, 'node_modules', name, 'package.json'), 'utf8')).version;
}

const code = result.outputFiles[0].contents;
const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
const file = `host-runtime.${hash}.js`;
const packages = {};
for (const [global, name] of Object.entries(GLOBAL_PACKAGES)) packages[global] = `${name}@${await versionOf(name)}`;
const globalsDoc = { packages, globals: await exportNames() };

await mkdir(outDir, { recursive: true });
// Old bundles would otherwise pile up with every source change.
for (const name of await readdir(outDir)) {
  if (/^host-runtime\.[0-9a-f]{16}\.js$/.test(name) && name !== file) await rm(path.join(outDir, name));
}
await writeFile(path.join(outDir, file), code);
await writeFile(path.join(outDir, 'globals.json'), `${JSON.stringify(globalsDoc, null, 1)}\n`);
const gzipBytes = gzipSync(code, { level: 9 }).length;
const brotliBytes = brotliCompressSync(code, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9 } }).length;
const manifest = { file, hash, bytes: code.length, gzipBytes, brotliBytes, globals: 'globals.json' };
await writeFile(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`${path.relative(repo, path.join(outDir, file))} (${kib(code.length)}, gzip ${kib(gzipBytes)}, br ${kib(brotliBytes)})`);
