// createSceneClient: imports server-compiled scenes and projects, with retries and a cache per
// (id, version); installHostGlobals for apps that bundle their own React and Remotion.
import {
  SceneLoadError, VersionCache, buildUrl, normalizeBase, parseRetryAfter, projectPath, scenePath, track,
  withRetries,
} from './core.js';
import { locateError } from './positions.js';

// One counter per page: every retry URL is new, also across clients and Retry clicks.
let freshCounter = 0;
const fresh = () => `${Date.now().toString(36)}${(freshCounter += 1).toString(36)}`;

// Kept out of bundlers' way: the URL is only known at run time.
const importUrl = (url) => import(/* webpackIgnore: true */ /* @vite-ignore */ url);

const isComponent = (value) => typeof value === 'function'
  || (value !== null && typeof value === 'object' && '$$typeof' in value);

const finite = (value) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null);

/** What loadProject resolves to, from the project module's exports. */
export function projectFromModule(mod) {
  const components = mod.default && typeof mod.default === 'object' ? mod.default : {};
  const modules = mod.modules && typeof mod.modules === 'object' ? mod.modules : {};
  const order = Array.isArray(mod.order) ? mod.order.map(String) : Object.keys(components);
  const meta = mod.scenes && typeof mod.scenes === 'object' ? mod.scenes : {};
  const scenes = {};
  for (const id of order) {
    const m = meta[id] || {};
    scenes[id] = Object.freeze({
      name: typeof m.name === 'string' ? m.name : null,
      // the table's `duration` column when the server sends it, else what the scene exports
      durationInFrames: finite(m.durationInFrames) ?? finite(m.duration)
        ?? finite(modules[id] && modules[id].durationInFrames),
    });
  }
  return Object.freeze({ components, modules, order: Object.freeze(order), scenes: Object.freeze(scenes) });
}

export function createSceneClient({ baseUrl = '', retries = 3, timeoutMs = 15000 } = {}) {
  const base = normalizeBase(baseUrl);
  const cache = new VersionCache();
  const flags = new Map();
  const preloaded = new Set();
  const failed = new Set(); // keys whose plain URL failed once: the browser remembers that failure

  async function probe(url) {
    const answer = await fetch(url, { method: 'HEAD', cache: 'no-store' });
    return { status: answer.ok ? 0 : answer.status, retryAfterMs: parseRetryAfter(answer.headers.get('Retry-After')) };
  }

  function load(kind, path, id, version, shape) {
    const key = `${kind}:${VersionCache.key(id, version)}`;
    const cached = cache.get(key);
    if (cached) return cached;
    const firstUrl = buildUrl(base, path, { version });
    const promise = track(withRetries(async (n) => {
      const url = n === 0 && !failed.has(key) ? firstUrl : buildUrl(base, path, { version, fresh: fresh() });
      return shape(await importUrl(url), url);
    }, {
      retries, timeoutMs,
      probe: () => probe(buildUrl(base, path, { version, fresh: fresh() })),
      describe: { what: kind, id: String(id), url: firstUrl },
    }));
    cache.set(key, promise);
    promise.catch(() => { // the next call tries again, from a fresh URL
      failed.add(key);
      cache.drop(key, promise);
    });
    return promise;
  }

  const sceneModule = (id) => (mod, url) => {
    if (!isComponent(mod.default)) {
      throw new SceneLoadError(`scene ${id}: the module at ${url} has no default export component`,
        { status: 0, code: 'bad_module', sceneId: String(id), url });
    }
    return mod;
  };

  function preload(url) {
    if (preloaded.has(url) || typeof document === 'undefined') return;
    preloaded.add(url);
    const link = document.createElement('link');
    link.rel = 'modulepreload';
    link.href = url;
    document.head.appendChild(link);
  }

  return {
    baseUrl: base,
    /** The scene's module (`default` is the component; an error module also has `compilationError`). */
    loadScene(sceneId, { version } = {}) {
      return load('scene', scenePath(sceneId), sceneId, version, sceneModule(sceneId));
    },
    /** `{components, modules, order, scenes}` of one project, from one module. */
    loadProject(projectId, { version } = {}) {
      return load('project', projectPath(projectId), projectId, version, (mod) => projectFromModule(mod));
    },
    preloadScene(sceneId, { version } = {}) {
      preload(buildUrl(base, scenePath(sceneId), { version }));
    },
    preloadProject(projectId, { version } = {}) {
      preload(buildUrl(base, projectPath(projectId), { version }));
    },
    /**
     * Where a runtime error happened in the scene's TSX (`{source, line, column, name, sceneId}`), from
     * its stack and the proxy's source maps; null when that cannot be known (no scene frame, no map,
     * an older proxy). Never throws.
     */
    locateError(error, { sceneId = null, projectId = null } = {}) {
      return locateError(error, { base, sceneId, projectId });
    },
    /** Whether `flag` is on for `userId`; false when the flag service cannot be asked (keep the old path). */
    isEnabled(flag, userId) {
      const key = `${flag}\u0000${userId ?? ''}`;
      if (!flags.has(key)) {
        const query = userId == null ? '' : `?userId=${encodeURIComponent(String(userId))}`;
        const answer = fetch(`${base}/api/flags/${encodeURIComponent(String(flag))}${query}`, { cache: 'no-store' })
          .then((r) => (r.ok ? r.json() : null))
          .then((body) => (body && typeof body === 'object' ? body.enabled === true : null))
          .catch(() => null);
        flags.set(key, answer.then((enabled) => {
          if (enabled === null) flags.delete(key); // unknown: ask again next time
          return enabled === true;
        }));
      }
      return flags.get(key);
    },
  };
}

/**
 * Sets the globals compiled scenes read (`React`, `ReactDOM`, `Remotion`, ...), for apps that
 * bundle their own copies. Idempotent; warns when it replaces a different React, since a scene
 * and the Player rendering it must share one.
 */
export function installHostGlobals(globals = {}) {
  const changed = [];
  for (const [name, value] of Object.entries(globals)) {
    if (value == null || globalThis[name] === value) continue;
    const previous = globalThis[name];
    if (previous != null && name === 'React') {
      console.warn(`scene-client: two copies of React would meet (window.React ${previous.version} was set, `
        + `now ${value.version}); scenes use the one installed last`);
    }
    globalThis[name] = value;
    changed.push(name);
  }
  return changed;
}
