// The reference for the golden checks: one page bundle that plays the fixture scenes with the real
// packages straight from node_modules: no compiler, no host runtime bundle, no preview shell.
// Module-style scenes are bundled against the packages themselves; globals-style scenes find the
// packages' modules on `window` under the names the product's host sets.
//
//   node tests/runtime/reference.mjs OUTDIR SCENE.tsx...
//   OUTDIR/<scene>.js (ES module, shared chunks beside it): importing it defines
//   window.showReference(frame), which renders the scene at that frame in a Player, then sets
//   <body data-ready="1">.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { googleFontsPlugin } from '../../runtime/fonts-plugin.mjs';
import { dedupeHostDestructurings, findSceneComponent } from '../../proxy/compiler/js/analyze.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const [outDir, ...scenes] = process.argv.slice(2);

const GLOBALS = `
import React from 'react';
import * as ReactDOM from 'react-dom';
import * as Remotion from 'remotion';
import * as RemotionPlayer from '@remotion/player';
import * as RemotionShapes from '@remotion/shapes';
import * as RemotionPaths from '@remotion/paths';
import * as LucideIcons from 'lucide-react';
import * as HeroiconsSolid from '@heroicons/react/24/solid';
import * as HeroiconsOutline from '@heroicons/react/24/outline';
import { Icon } from '@iconify/react';
import { RemotionGoogleFonts } from ${JSON.stringify(path.join(repo, 'runtime', 'src', 'fonts.js'))};
Object.assign(window, { React, ReactDOM, Remotion, RemotionPlayer, RemotionShapes, RemotionPaths, LucideIcons,
  HeroiconsSolid, HeroiconsOutline, IconifyIcon: Icon, RemotionGoogleFonts });
window.remotion_renderReady = true; // no delayRender() handle is open yet
`;

// One entry per scene, so a page holds one scene and only its own fonts: `<name>.js` exports show().
const SHOW = `
import React, { useEffect } from 'react';
import { createRoot } from 'react-dom/client';
import { Player } from '@remotion/player';
function duration(mod) {
  for (const [k, v] of Object.entries(mod)) if (k.startsWith('durationInFrames') && Number.isFinite(v) && v >= 1) return Math.round(v);
  return 150;
}
let root = null;
export function show(mod, frame) {
  delete document.body.dataset.ready;
  const durationInFrames = duration(mod);
  const Scene = mod.default;
  const Committed = (props) => {
    useEffect(() => {
      // Like the preview: wait for open delayRender()s, but 5 s at most.
      const start = performance.now();
      const wait = () => (window.remotion_renderReady === false && performance.now() - start < 5000
        ? setTimeout(wait, 25)
        : document.fonts.ready.then(() =>
          requestAnimationFrame(() => requestAnimationFrame(() => { document.body.dataset.ready = '1'; }))));
      wait();
    }, []);
    return React.createElement(Scene, props);
  };
  root?.unmount();
  root = createRoot(document.getElementById('root'));
  root.render(React.createElement(Player, {
    component: Committed, durationInFrames, compositionWidth: 1920, compositionHeight: 1080, fps: 30,
    controls: true, loop: true, autoPlay: false, initialFrame: Math.max(0, Math.min(durationInFrames - 1, frame)),
    inputProps: {}, acknowledgeRemotionLicense: true,
    style: { position: 'absolute', inset: 0, width: '100%', height: '100%', aspectRatio: 'auto' },
  }));
}
`;

const entry = (file) => `import 'reference:globals';
import * as scene from ${JSON.stringify(path.resolve(file))};
import { show } from 'reference:show';
window.showReference = (frame) => show(scene, frame);
`;

const SHIMS = {
  '@iconify/react': "export * from '@iconify/react';\nexport { Icon as default } from '@iconify/react';\n",
  '@remotion/google-fonts': `import { RemotionGoogleFonts } from ${JSON.stringify(path.join(repo, 'runtime', 'src', 'fonts.js'))};
export const loadFont = RemotionGoogleFonts.loadFont;\n`,
};

const HOST_GLOBALS = new Set(['React', 'ReactDOM', 'Remotion', 'RemotionPlayer', 'RemotionShapes', 'RemotionPaths',
  'LucideIcons', 'HeroiconsSolid', 'HeroiconsOutline', 'IconifyIcon', 'RemotionGoogleFonts']);

// The two source fix-ups every host of these scenes needs: a repeated `const { X } = window.Remotion`
// compiles once, and a scene without `export default` exports its last component.
const sceneFixups = {
  name: 'scene-fixups',
  setup(build) {
    build.onResolve({ filter: /^reference:/ }, (args) => ({ path: args.path, namespace: 'reference' }));
    // The module format gives `import Icon from '@iconify/react'` the component (the package itself
    // has no default export); scenes rely on it, so the reference does the same.
    // Likewise `@remotion/google-fonts` itself is the host's RemotionGoogleFonts (`loadFont(family)`).
    build.onResolve({ filter: /^(@iconify\/react|@remotion\/google-fonts)$/ }, (args) => (args.importer.endsWith('.tsx')
      ? { path: args.path, namespace: 'reference' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'reference' }, (args) => ({
      contents: SHIMS[args.path] ?? (args.path === 'reference:globals' ? GLOBALS : args.path === 'reference:show' ? SHOW
        : entry(scenes[Number(args.path.slice('reference:scene:'.length))])),
      loader: 'js',
      resolveDir: repo,
    }));
    build.onLoad({ filter: /\.tsx$/ }, (args) => {
      let source = dedupeHostDestructurings(readFileSync(args.path, 'utf8'), HOST_GLOBALS);
      if (!/\bexport\s+default\b|\bas\s+default\b/.test(source)) source += `\nexport default ${findSceneComponent(source)};\n`;
      return { contents: source, loader: 'tsx' };
    });
  },
};

await esbuild.build({
  entryPoints: scenes.map((file, i) => ({ in: `reference:scene:${i}`, out: path.basename(file, '.tsx') })),
  outdir: outDir,
  absWorkingDir: repo,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  jsx: 'transform',
  jsxFactory: 'React.createElement',
  jsxFragment: 'React.Fragment',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'error',
  plugins: [sceneFixups, googleFontsPlugin()],
});
