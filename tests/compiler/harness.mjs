// Imports compiled scene modules the way a host page would (globals first, then import()),
// and renders each with real React at a few frames. Remotion is a small stand-in with the same
// surface as the browser runtime; icon packages are the real ones from node_modules.
//
// stdin: {"modules": [{"name": "...", "file": "/abs/path.mjs"}], "frames": [0, 45], "setup": "/abs/setup.mjs"?}
// `setup`, when given, is imported after the globals are in place and before any scene (extra globals).
// stdout: {"results": [{"name", "ok", "defaultType", "exports", "texts": {frame: text}, "error"}]}

import React from 'react';
import * as ReactDOM from 'react-dom';
import { renderToString } from 'react-dom/server';
import { pathToFileURL } from 'node:url';
import * as Lucide from 'lucide-react';
import * as HeroSolid from '@heroicons/react/24/solid';
import * as HeroOutline from '@heroicons/react/24/outline';

const h = React.createElement;
const FrameContext = React.createContext(0);
const CONFIG = { fps: 30, width: 1920, height: 1080, durationInFrames: 300, id: 'test', defaultProps: {} };

function useCurrentFrame() {
  return React.useContext(FrameContext);
}

function atFrame(frame, children) {
  return h(FrameContext.Provider, { value: frame }, children);
}

const AbsoluteFill = React.forwardRef(({ style, children, ...rest }, ref) =>
  h('div', { ...rest, ref, style: { position: 'absolute', inset: 0, display: 'flex', flexDirection: 'column', ...style } }, children));

function Sequence({ from = 0, durationInFrames = Infinity, layout, style, children }) {
  const frame = useCurrentFrame();
  if (frame < from || frame >= from + durationInFrames) return null;
  const inner = atFrame(frame - from, children);
  return layout === 'none' ? inner : h('div', { style: { position: 'absolute', inset: 0, ...style } }, inner);
}

function Series({ children }) {
  let from = 0;
  return h(React.Fragment, null, React.Children.map(children, (child) => {
    if (!child) return null;
    const d = child.props.durationInFrames ?? Infinity;
    const el = h(Sequence, { from: from + (child.props.offset ?? 0), durationInFrames: d }, child.props.children);
    from += d;
    return el;
  }));
}
Series.Sequence = ({ children }) => children;

function Loop({ durationInFrames, children }) {
  return atFrame(useCurrentFrame() % durationInFrames, children);
}

function Freeze({ frame, children }) {
  return atFrame(frame, children);
}

const Easing = {
  linear: (t) => t,
  ease: (t) => t * t * (3 - 2 * t),
  quad: (t) => t * t,
  cubic: (t) => t * t * t,
  sin: (t) => 1 - Math.cos((t * Math.PI) / 2),
  circle: (t) => 1 - Math.sqrt(1 - t * t),
  exp: (t) => (t === 0 ? 0 : 2 ** (10 * (t - 1))),
  bounce: (t) => t,
  poly: (n) => (t) => t ** n,
  elastic: () => (t) => t,
  back: () => (t) => t,
  bezier: () => (t) => t,
  in: (f) => f,
  out: (f) => (t) => 1 - f(1 - t),
  inOut: (f) => (t) => (t < 0.5 ? f(t * 2) / 2 : 1 - f((1 - t) * 2) / 2),
};

function interpolate(input, inputRange, outputRange, options = {}) {
  let i = 1;
  while (i < inputRange.length - 1 && input > inputRange[i]) i++;
  const [a, b] = [inputRange[i - 1], inputRange[i]];
  let t = b === a ? 0 : (input - a) / (b - a);
  if (t < 0 && options.extrapolateLeft === 'clamp') t = 0;
  if (t > 1 && options.extrapolateRight === 'clamp') t = 1;
  if (options.easing && t >= 0 && t <= 1) t = options.easing(t);
  return outputRange[i - 1] + t * (outputRange[i] - outputRange[i - 1]);
}

function interpolateColors(input, inputRange, colors) {
  const rgb = (c) => {
    const m = /^#([0-9a-f]{6})$/i.exec(c);
    const n = m ? parseInt(m[1], 16) : 0;
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  };
  const channels = [0, 1, 2].map((k) => Math.round(interpolate(input, inputRange, colors.map((c) => rgb(c)[k]),
    { extrapolateLeft: 'clamp', extrapolateRight: 'clamp' })));
  return `rgb(${channels.join(', ')})`;
}

function spring({ frame, fps = 30, from = 0, to = 1 }) {
  if (frame <= 0) return from;
  return from + (to - from) * (1 - Math.exp(-frame / (fps / 6)));
}

function random(seed) {
  let x = 0;
  for (const ch of String(seed)) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
  return (x % 10007) / 10007;
}

const shape = (name) => (props) => h('svg', { 'data-shape': name, width: 10, height: 10 }, h('title', null, name));

let delayHandles = 0;
globalThis.window = globalThis;
globalThis.React = React;
globalThis.ReactDOM = ReactDOM;
globalThis.Remotion = {
  AbsoluteFill, Sequence, Series, Loop, Freeze, useCurrentFrame, useVideoConfig: () => CONFIG,
  interpolate, interpolateColors, spring, Easing, random,
  Img: (props) => h('img', props), staticFile: (p) => `/static/${p}`,
  delayRender: () => ++delayHandles, continueRender: () => {},
  Audio: () => null, Video: () => null, OffthreadVideo: () => null,
};
globalThis.RemotionShapes = Object.fromEntries(['Circle', 'Rect', 'Triangle', 'Star', 'Ellipse'].map((n) => [n, shape(n)]));
globalThis.IconifyIcon = ({ icon }) => h('span', { 'data-icon': icon });
// like the browser runtime: any capitalised property is a per-family module with its own loadFont
globalThis.RemotionGoogleFonts = new Proxy(
  { loadFont: (family) => ({ fontFamily: typeof family === 'string' ? family : 'Inter' }) },
  { get: (t, p) => (p in t || typeof p !== 'string' || !/^[A-Z]/.test(p) ? t[p] : { loadFont: () => ({ fontFamily: p }) }) },
);
globalThis.LucideIcons = Lucide;
globalThis.HeroiconsSolid = HeroSolid;
globalThis.HeroiconsOutline = HeroOutline;

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
      result.texts[frame] = visibleText(renderToString(atFrame(frame, h(mod.default))));
    }
    result.ok = true;
  } catch (e) {
    result.error = String(e && e.stack ? e.stack : e).slice(0, 2000);
  }
  results.push(result);
}
process.stdout.write(JSON.stringify({ results, warnings: warnings.length }));
