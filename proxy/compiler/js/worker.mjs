// A persistent compiler process. Protocol: one JSON object per line on stdin and stdout.
//   in:  {"id": N, "op": "compile", "source": "..."}
//   in:  {"id": N, "op": "compile", "source": "...", "sourceName": "scene/<hash>.tsx"}
//   out: {"id": N, "ok": true, "code": "...", "map": "<source map JSON, when config.sourceMaps>"}
//        | {"id": N, "ok": false, "error": {message, kind, line, column, lineText}}
//   in:  {"id": N, "op": "bundle", "scenes": [{"id": "...", "code": "<artifact>"}, ...]} -> {"id": N, "ok": true, "code": "..."}
// On start it prints {"id": 0, "ready": true, "esbuild": "<version>"} once warm.
// The "sleep", "exit" and "crash-esbuild" ops exist for the tests of the pool's timeout and crash handling; they are
// honoured only when the pool started this process with ARTIFACT_COMPILER_DEBUG_OPS=1.

import * as esbuild from 'esbuild';
import { createInterface } from 'node:readline';

import { bundleScenes } from './bundle.mjs';
import { SceneCompiler, SceneError, lookupSpecifier } from './compile.mjs';
import { HostExports } from './exports.mjs';

const config = JSON.parse(process.env.ARTIFACT_COMPILER_CONFIG ?? '{}');
const debugOps = process.env.ARTIFACT_COMPILER_DEBUG_OPS === '1';
// Limits decide whether a compile succeeds, never its bytes, so they stay out of the hashed config.
const limits = JSON.parse(process.env.ARTIFACT_COMPILER_LIMITS ?? '{}');
const compiler = new SceneCompiler(esbuild, config, limits);
// What the host runtime exports (build/runtime/globals.json); a name it lacks is a compile error.
const hostExports = config.hostExports ? HostExports.load(config.hostExports) : null;

async function compileScene(source, sourceName) {
  const out = await compiler.compileWithMap(source, sourceName);
  hostExports?.check(source, config.importMap, lookupSpecifier,
    (message, line, column) => new SceneError(message, 'import', line, column, source.split(/\r\n|\r|\n/)[line - 1] ?? ''));
  return out;
}

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function errorReply(id, e) {
  if (e instanceof SceneError) {
    return { id, ok: false, error: { message: e.message, kind: e.kind, line: e.line, column: e.column, lineText: e.lineText } };
  }
  // Our fault, not the scene's: the details go to the operator's log, never to the caller.
  process.stderr.write(`compile failed unexpectedly: ${e && e.stack ? e.stack : e}\n`);
  // esbuild's service process may be gone (a Go stack overflow kills it): every later build would
  // fail too, so this process ends once the reply is out and the pool starts a fresh one.
  if (String(e && e.message).includes('service was stopped') || String(e && e.message).includes('service is no longer running')) {
    setImmediate(() => process.exit(70));
  }
  return { id, ok: false, error: { message: 'internal compiler error', kind: 'internal', line: 0, column: 0, lineText: '' } };
}

async function handle(request) {
  const { id, op } = request;
  if (op === 'compile') {
    try {
      const { code, map } = await compileScene(String(request.source), String(request.sourceName ?? 'scene.tsx'));
      send(map === null ? { id, ok: true, code } : { id, ok: true, code, map });
    } catch (e) {
      send(errorReply(id, e));
    }
  } else if (op === 'bundle') {
    try {
      send({ id, ok: true, code: await bundleScenes(esbuild, request.scenes, config.target, config.workDir) });
    } catch (e) {
      send(errorReply(id, e));
    }
  } else if (op === 'ping') {
    send({ id, ok: true, esbuild: esbuild.version });
  } else if (debugOps && op === 'sleep') {
    // Block the event loop, like a compile that never returns.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(request.ms) || 0);
    send({ id, ok: true });
  } else if (debugOps && op === 'crash-esbuild') {
    // Overflow esbuild's Go stack (its service process dies), as a nesting past every check would.
    try {
      await esbuild.transform(`${'!'.repeat(600_000)}1`, { loader: 'js' });
      send({ id, ok: true });
    } catch (e) {
      send(errorReply(id, e));
    }
  } else if (debugOps && op === 'exit') {
    process.exit(3);
  } else {
    send({ id, ok: false, error: { message: `unknown op ${JSON.stringify(op)}`, kind: 'internal', line: 0, column: 0, lineText: '' } });
  }
}

const WARMUP_SCENES = [
  `import { AbsoluteFill, useCurrentFrame } from 'remotion';
export default function Warm() { const f: number = useCurrentFrame(); return <AbsoluteFill><>{f}</></AbsoluteFill>; }`,
  `const { AbsoluteFill } = window.Remotion;
const { AbsoluteFill } = window.Remotion;
const Warm = () => <AbsoluteFill>{'from "x"'}</AbsoluteFill>;`,
];

async function warmUp() {
  // First builds start esbuild's service and JIT-compile both paths; do it before declaring ready.
  // Scene errors are fine here (an import map may lack `remotion`); the paths still get exercised.
  for (let i = 0; i < 8; i++) {
    for (const scene of WARMUP_SCENES) await compileScene(scene).catch((e) => {
      if (!(e instanceof SceneError)) throw e;
    });
  }
}

process.on('uncaughtException', (e) => {
  process.stderr.write(`compiler worker crashed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(70);
});

await warmUp();
send({ id: 0, ready: true, esbuild: esbuild.version });

let pending = 0;
let closed = false;
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (!line) return;
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    process.stderr.write('compiler worker: malformed request line\n');
    return;
  }
  pending += 1;
  handle(request).finally(() => {
    pending -= 1;
    if (closed && pending === 0) process.exit(0);
  });
});
// The pool closes stdin to stop us; finish what is in flight first.
lines.on('close', () => {
  closed = true;
  if (pending === 0) process.exit(0);
});
