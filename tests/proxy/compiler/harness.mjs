// Imports compiled scene modules the way a host page would (globals first, then import()),
// and renders each with real React and the real Remotion packages at a few frames.
//
// stdin: {"modules": [{"name": "...", "file": "/abs/path.mjs"}], "frames": [0, 45], "setup": "/abs/setup.mjs"?}
// `setup`, when given, is imported after the globals are in place and before any scene (extra globals).
// stdout: {"results": [{"name", "ok", "defaultType", "exports", "texts": {frame: text}, "error"}]}

import React from 'react';
import { renderToString } from 'react-dom/server';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The host runtime's own bindings (runtime/src/globals.js), built for Node by runtime/build.mjs:
// the real React, Remotion, Player, shapes, fonts and icon packages, as the browser gets them.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { globals } = await import(pathToFileURL(path.join(ROOT, 'build', 'runtime', 'globals.node.mjs')).href);
const { Thumbnail } = globals.RemotionPlayer;
const h = React.createElement;
const CONFIG = { fps: 30, compositionWidth: 1920, compositionHeight: 1080, durationInFrames: 300 };

// A frame of a scene, rendered by the real Player's Thumbnail (server-side rendering works for it).
function atFrame(frame, Scene) {
  return h(Thumbnail, { ...CONFIG, component: Scene, frameToDisplay: frame });
}

Object.assign(globalThis, globals);
globalThis.window = globalThis;

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', '#x27': "'", '#39': "'", nbsp: ' ' };

function visibleText(html) {
  return html
    .replace(/<!-- -->/g, '') // React's separator between adjacent text nodes
    .replace(/<[^>]*>/g, ' ')
    .replace(/&([a-z#0-9]+);/gi, (m, name) => ENTITIES[name] ?? m)
    .replace(/\s+/g, ' ')
    .trim();
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const warnings = [];
console.error = (...args) => warnings.push(args.map(String).join(' ').slice(0, 300));

if (job.setup) await import(pathToFileURL(job.setup).href);

const results = [];
for (const { name, file } of job.modules) {
  const result = { name, ok: false, defaultType: null, exports: [], texts: {}, error: null };
  try {
    const mod = await import(pathToFileURL(file).href);
    result.exports = Object.keys(mod).sort();
    result.defaultType = typeof mod.default;
    if (typeof mod.default !== 'function') throw new Error(`default export is ${typeof mod.default}`);
    for (const frame of job.frames ?? [0]) {
      result.texts[frame] = visibleText(renderToString(atFrame(frame, mod.default)));
    }
    result.ok = true;
  } catch (e) {
    result.error = String(e && e.stack ? e.stack : e).slice(0, 2000);
  }
  results.push(result);
}
process.stdout.write(JSON.stringify({ results, warnings: warnings.length }));
