// The pure parts of the scene client, under Node's test runner (`node --test client/test/`).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  SceneLoadError, VersionCache, backoffMs, buildUrl, normalizeBase, parseRetryAfter, projectPath, scenePath, track,
  withRetries,
} from '../src/core.js';
import { projectFromModule } from '../src/client.js';

const ID = '8b0f0a4e-3a1c-4a53-9f4e-2f4a1c0d7e11';
const noWait = () => Promise.resolve();

test('a scene URL carries the version, and a retry adds a fresh token without losing it', () => {
  const base = normalizeBase('https://cdn.example.com//');
  assert.equal(base, 'https://cdn.example.com');
  assert.equal(buildUrl(base, scenePath(ID)), `https://cdn.example.com/api/components/${ID}`);
  assert.equal(buildUrl(base, scenePath(ID), { version: 'a1b2c3d4e5f60718' }),
    `https://cdn.example.com/api/components/${ID}?v=a1b2c3d4e5f60718`);
  assert.equal(buildUrl(base, scenePath(ID), { version: '2026-11-30T19:00:00.000Z', fresh: 'k1' }),
    `https://cdn.example.com/api/components/${ID}?v=2026-11-30T19%3A00%3A00.000Z&r=k1`);
  assert.equal(buildUrl('', projectPath('p/1'), { version: 0 }), '/api/projects/p%2F1/components?v=0');
  assert.equal(buildUrl('', scenePath(ID), { version: null, fresh: '' }), `/api/components/${ID}`);
});

test('a base URL that is not a string is refused at once', () => {
  assert.throws(() => normalizeBase(42), TypeError);
  assert.equal(normalizeBase(undefined), '');
});

test('back-off doubles per attempt up to its ceiling, with jitter between half and all of it', () => {
  const low = { random: () => 0 };
  const high = { random: () => 1 };
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffMs(n, high)), [250, 500, 1000, 2000, 4000, 4000]);
  assert.deepEqual([0, 1, 2].map((n) => backoffMs(n, low)), [125, 250, 500]);
  assert.equal(backoffMs(10, { baseMs: 100, maxMs: 300, random: () => 1 }), 300);
});

test('Retry-After is read as seconds or as a date, capped, and ignored when unreadable', () => {
  const now = Date.parse('2026-11-30T19:00:00Z');
  assert.equal(parseRetryAfter('2'), 2000);
  assert.equal(parseRetryAfter(' 120 ', { maxMs: 30000 }), 30000);
  assert.equal(parseRetryAfter('Mon, 30 Nov 2026 19:00:05 GMT', { now }), 5000);
  assert.equal(parseRetryAfter('Mon, 30 Nov 2026 18:00:00 GMT', { now }), 0);
  assert.equal(parseRetryAfter('soon'), null);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter(''), null);
});

test('the cache keeps one entry per (id, version) and forgets the least recently used', () => {
  const cache = new VersionCache(2);
  const a1 = VersionCache.key(ID, 'v1');
  const a2 = VersionCache.key(ID, 'v2');
  const b = VersionCache.key('other', undefined);
  assert.notEqual(a1, a2);
  assert.equal(VersionCache.key(ID, null), VersionCache.key(ID, undefined));
  cache.set(a1, 'one');
  cache.set(a2, 'two');
  assert.equal(cache.get(a1), 'one'); // a1 is now the most recent
  cache.set(b, 'three');
  assert.equal(cache.get(a2), undefined);
  assert.equal(cache.get(a1), 'one');
  cache.drop(a1, 'not what it holds');
  assert.equal(cache.get(a1), 'one');
  cache.drop(a1, 'one');
  assert.equal(cache.get(a1), undefined);
});

test('errors are typed: a 404 or 400 is final, other statuses can be retried', () => {
  const gone = new SceneLoadError('no such scene', { status: 404, sceneId: ID });
  assert.ok(gone instanceof Error);
  assert.equal(gone.name, 'SceneLoadError');
  assert.equal(gone.status, 404);
  assert.equal(gone.retryable, false);
  assert.equal(new SceneLoadError('bad id', { status: 400 }).retryable, false);
  assert.equal(new SceneLoadError('busy', { status: 503 }).retryable, true);
  assert.equal(new SceneLoadError('network').retryable, true);
});

test('a failed attempt is retried after backing off, and the result of the retry is returned', async () => {
  const waits = [];
  const calls = [];
  const result = await withRetries(async (n) => {
    calls.push(n);
    if (n < 2) throw new TypeError('Failed to fetch dynamically imported module');
    return 'module';
  }, { retries: 3, probe: async () => ({ status: 0 }), wait: async (ms) => { waits.push(ms); }, backoff: (n) => 100 + n });
  assert.equal(result, 'module');
  assert.deepEqual(calls, [0, 1, 2]);
  assert.deepEqual(waits, [100, 101]);
});

test('a 404 learned after a failed import ends the retries at once with that status', async () => {
  let attempts = 0;
  await assert.rejects(withRetries(async () => { attempts += 1; throw new TypeError('import failed'); }, {
    retries: 5, probe: async () => ({ status: 404 }), wait: noWait, describe: { id: ID, url: '/x' },
  }), (err) => err instanceof SceneLoadError && err.status === 404 && err.code === 'not_found'
    && err.sceneId === ID && /does not exist/.test(err.message));
  assert.equal(attempts, 1);
});

test('Retry-After of a 503 decides the wait instead of the back-off', async () => {
  const waits = [];
  let n = 0;
  const value = await withRetries(async () => { n += 1; if (n === 1) throw new TypeError('x'); return 'ok'; }, {
    probe: async () => ({ status: 503, retryAfterMs: 2000 }), wait: async (ms) => { waits.push(ms); }, backoff: () => 7,
  });
  assert.equal(value, 'ok');
  assert.deepEqual(waits, [2000]);
});

test('after the last retry the error says how many attempts failed and why', async () => {
  await assert.rejects(withRetries(async () => { throw new TypeError('offline'); }, {
    retries: 2, probe: async () => { throw new TypeError('offline too'); }, wait: noWait,
    describe: { what: 'project', id: 'p1' },
  }), (err) => err instanceof SceneLoadError && err.status === 0 && err.retryable
    && err.message === 'project p1 failed to load after 3 attempts: offline');
});

test('a module that is not a scene is not imported again', async () => {
  let attempts = 0;
  await assert.rejects(withRetries(async () => {
    attempts += 1;
    throw new SceneLoadError('no default export component', { code: 'bad_module' });
  }, { retries: 3, probe: async () => ({ status: 0 }), wait: noWait }), (err) => err.code === 'bad_module');
  assert.equal(attempts, 1);
});

test('an attempt that hangs times out and is retried', async () => {
  let n = 0;
  const value = await withRetries(() => { n += 1; return n === 1 ? new Promise(() => {}) : Promise.resolve('late'); }, {
    timeoutMs: 20, wait: noWait,
  });
  assert.equal(value, 'late');
  assert.equal(n, 2);
});

test('a tracked promise exposes status and value the way React 19 reads them', async () => {
  const ok = track(Promise.resolve(5));
  assert.equal(ok.status, 'pending');
  await ok;
  assert.equal(ok.status, 'fulfilled');
  assert.equal(ok.value, 5);
  const bad = track(Promise.reject(new Error('no')));
  await bad.catch(() => {});
  assert.equal(bad.status, 'rejected');
  assert.equal(bad.reason.message, 'no');
});

test('a project module gives components, order and each scene\'s name and duration', () => {
  const A = () => null;
  const B = () => null;
  const withMeta = projectFromModule({
    default: { a: A, b: B }, modules: { a: { default: A }, b: { default: B, durationInFrames: 90 } },
    scenes: { a: { name: 'Intro', duration: 120 }, b: { name: 'Outro', durationInFrames: 60 } },
  });
  assert.deepEqual(withMeta.order, ['a', 'b']);
  assert.equal(withMeta.components.b, B);
  assert.deepEqual(withMeta.scenes, { a: { name: 'Intro', durationInFrames: 120 }, b: { name: 'Outro', durationInFrames: 60 } });
  // what the server sends today: no `scenes` export, so only what a scene exports itself
  const bare = projectFromModule({ default: { a: A, b: B }, modules: { a: { default: A }, b: { default: B, durationInFrames: 90 } } });
  assert.deepEqual(bare.scenes, { a: { name: null, durationInFrames: null }, b: { name: null, durationInFrames: 90 } });
  assert.ok(Object.isFrozen(bare.scenes));
});

test('installHostGlobals sets each global once and warns when a second React replaces the first', async () => {
  const { installHostGlobals } = await import('../src/client.js');
  const warnings = [];
  const warn = console.warn;
  console.warn = (msg) => warnings.push(msg);
  try {
    const first = { version: '18.3.1', createElement() {} };
    const second = { version: '19.1.0', createElement() {} };
    const Remotion = {};
    assert.deepEqual(installHostGlobals({ React: first, Remotion }), ['React', 'Remotion']);
    assert.deepEqual(installHostGlobals({ React: first, Remotion }), []);
    assert.deepEqual(warnings, []);
    assert.deepEqual(installHostGlobals({ React: second }), ['React']);
    assert.equal(globalThis.React, second);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /two copies of React.*18\.3\.1.*19\.1\.0/);
  } finally {
    console.warn = warn;
    delete globalThis.React;
    delete globalThis.Remotion;
  }
});

import http from 'node:http';
import { describeAt, locateError, sceneFrame } from '../src/positions.js';

test('a stack frame in a scene module is found, and a missing endpoint leaves the message as it was', async () => {
  const stack = `TypeError: Cannot read properties of undefined (reading 'value')
    at Scene (https://cdn.example.com/p/components/0123456789abcdef.js:6:66)
    at renderWithHooks (https://proxy.example.com/runtime/host-runtime.js:1:2)`;
  assert.deepEqual(sceneFrame(stack), { hash: '0123456789abcdef', sceneId: null, projectId: null, line: 6, column: 66 });
  assert.equal(sceneFrame('at x (https://h/runtime/host-runtime.js:1:2)'), null);
  assert.equal(sceneFrame(undefined), null);
  assert.deepEqual(sceneFrame('    at https://h/api/projects/p-1/components:40:3').projectId, 'p-1');
  // a real server without the route: null, never a throw
  const server = http.createServer((req, res) => { res.writeHead(404); res.end('{}'); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const base = `http://127.0.0.1:${server.address().port}`;
    assert.equal(await locateError({ stack }, { base, sceneId: 's' }), null);
  } finally {
    server.close();
  }
  assert.equal(describeAt(null, 'boom'), 'boom');
  assert.equal(describeAt({ line: 12, column: 7 }, 'boom'), 'Scene.tsx:12:7: boom');
});
