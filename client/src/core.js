// The pure parts of the scene client: URLs, back-off, Retry-After, the per-version cache, the
// error type and the retry loop. Nothing here touches the DOM, React or the network by itself,
// so Node's test runner covers it (client/test/).

/** A scene or project that could not be loaded; `status` is the HTTP status when it was learned (else 0). */
export class SceneLoadError extends Error {
  constructor(message, { status = 0, code = 'load_failed', sceneId = null, url = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SceneLoadError';
    this.status = status;
    this.code = code;
    this.sceneId = sceneId;
    this.url = url;
  }

  /** false for answers a retry cannot change (400 malformed id, 404 unknown id, 410 gone). */
  get retryable() {
    return !isFinal(this.status);
  }
}

export const isFinal = (status) => status === 400 || status === 404 || status === 410;
const isThrottle = (status) => status === 429 || status === 503;

/** The base URL without its trailing slashes; '' means "this origin". */
export function normalizeBase(baseUrl) {
  if (baseUrl == null) return '';
  if (typeof baseUrl !== 'string') throw new TypeError('createSceneClient: baseUrl must be a string');
  return baseUrl.replace(/\/+$/, '');
}

/**
 * `{base}{path}` plus `v=<version>` (a new version is a new URL, so the browser's module map
 * imports it again) and, for a retry, `r=<fresh>` (a failed import is remembered per URL).
 */
export function buildUrl(base, path, { version, fresh } = {}) {
  const query = [];
  if (version != null && version !== '') query.push(`v=${encodeURIComponent(String(version))}`);
  if (fresh != null && fresh !== '') query.push(`r=${encodeURIComponent(String(fresh))}`);
  return `${base}${path}${query.length ? `?${query.join('&')}` : ''}`;
}

export const scenePath = (sceneId) => `/api/components/${encodeURIComponent(String(sceneId))}`;
export const projectPath = (projectId) => `/api/projects/${encodeURIComponent(String(projectId))}/components`;

/** Exponential back-off with jitter: attempt 0 waits 50-100 % of baseMs, doubling up to maxMs. */
export function backoffMs(attempt, { baseMs = 250, maxMs = 4000, random = Math.random } = {}) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** Retry-After (delta-seconds or an HTTP date) in ms, capped; null when absent or unreadable. */
export function parseRetryAfter(value, { now = Date.now(), maxMs = 30000 } = {}) {
  if (value == null) return null;
  const text = String(value).trim();
  if (text === '') return null;
  let ms;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return null;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, maxMs);
}

/** A Map with a size bound that forgets the least recently used entry first. */
export class VersionCache {
  constructor(limit = 500) {
    this.limit = limit;
    this.map = new Map();
  }

  static key(id, version) {
    return `${id}\u0000${version == null ? '' : String(version)}`;
  }

  get(key) {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key, value) {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value);
    return value;
  }

  /** Forget `key` only while it still holds `value` (a newer entry is left alone). */
  drop(key, value) {
    if (value === undefined || this.map.get(key) === value) this.map.delete(key);
  }
}

/** Marks a promise with React 19's thenable fields (`status`, `value`, `reason`) as it settles. */
export function track(promise) {
  promise.status = 'pending';
  promise.then(
    (value) => { promise.status = 'fulfilled'; promise.value = value; },
    (reason) => { promise.status = 'rejected'; promise.reason = reason; },
  );
  return promise;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout(promise, ms) {
  if (!(ms > 0) || !Number.isFinite(ms)) return promise;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new SceneLoadError(`timed out after ${ms} ms`, { code: 'timeout' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Calls `attempt(n)` until it resolves, at most `retries` + 1 times. After a failure `probe(n)`
 * may tell what the server answers (`{status, retryAfterMs}`): 400/404/410 end it at once,
 * 429/503 wait for Retry-After, anything else backs off. Rejects with a SceneLoadError.
 */
export async function withRetries(attempt, { retries = 3, timeoutMs = 15000, probe, wait = sleep,
  backoff = backoffMs, describe = {} } = {}) {
  for (let n = 0; ; n += 1) {
    let failure;
    try {
      return await withTimeout(attempt(n), timeoutMs);
    } catch (err) {
      failure = err;
    }
    // the module arrived but is not a scene: importing it again gives the same module
    if (failure instanceof SceneLoadError && failure.code === 'bad_module') throw failure;
    let answer = null;
    if (probe && !(failure instanceof SceneLoadError && failure.status)) {
      try { answer = await withTimeout(Promise.resolve(probe(n)), timeoutMs); } catch { answer = null; }
    }
    const status = (failure instanceof SceneLoadError && failure.status) || (answer && answer.status) || 0;
    const final = isFinal(status);
    if (final || n >= retries) {
      const what = describe.what || 'scene';
      const message = final
        ? `${what} ${describe.id ?? ''} ${status === 400 ? 'has a malformed id' : 'does not exist'} (HTTP ${status})`
        : `${what} ${describe.id ?? ''} failed to load after ${n + 1} attempt${n ? 's' : ''}: ${
          (failure && failure.message) || String(failure)}${status ? ` (HTTP ${status})` : ''}`;
      throw new SceneLoadError(message.replace(/ {2,}/g, ' '), {
        status, code: final ? 'not_found' : (failure && failure.code) || 'load_failed',
        sceneId: describe.id ?? null, url: describe.url ?? null, cause: failure,
      });
    }
    const retryAfter = answer && isThrottle(status) ? answer.retryAfterMs : null;
    await wait(retryAfter ?? backoff(n));
  }
}
