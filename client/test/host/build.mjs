// node client/test/host/build.mjs <18|19> <outfile>: the test host app on that React version.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.resolve(here, '..', '..', 'node_modules');
const [version, outfile] = process.argv.slice(2);
if (!['18', '19'].includes(version) || !outfile) {
  console.error('usage: build.mjs <18|19> <outfile>');
  process.exit(2);
}
// React 18 is installed under its own name; React 19 under npm aliases, bound here for every importer.
const alias = version === '19'
  ? { react: path.join(modules, 'react-19'), 'react-dom': path.join(modules, 'react-dom-19') }
  : {};

await esbuild.build({
  entryPoints: [path.join(here, 'entry.js')],
  outfile,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  alias,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
