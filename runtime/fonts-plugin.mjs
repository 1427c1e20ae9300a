// esbuild plugin: `artifact-proxy:google-fonts`, one namespace export per family that
// runtime/google-fonts.json lists (`export * as Inter from '@remotion/google-fonts/Inter'`).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

export function bundledFamilies() {
  const { families } = JSON.parse(readFileSync(path.join(here, 'google-fonts.json'), 'utf8'));
  if (!Array.isArray(families) || families.some((f) => !/^[A-Z][A-Za-z0-9]*$/.test(f))) {
    throw new Error('runtime/google-fonts.json: "families" must list import names like "Inter"');
  }
  return [...families].sort();
}

export function googleFontsPlugin(families = bundledFamilies()) {
  return {
    name: 'google-fonts',
    setup(build) {
      build.onResolve({ filter: /^artifact-proxy:google-fonts$/ }, (args) => ({ path: args.path, namespace: 'fonts' }));
      build.onLoad({ filter: /.*/, namespace: 'fonts' }, () => ({
        contents: families.map((f) => `export * as ${f} from '@remotion/google-fonts/${f}';`).join('\n'),
        loader: 'js',
        resolveDir: repo,
      }));
    },
  };
}
