// React bindings on the host's React (window.React), read when first used, so this module can be
// imported before the host runtime script has run. Only APIs React 18.3 and 19 share.
import { track } from './core.js';
import { describeAt } from './positions.js';

function react() {
  const R = globalThis.React;
  if (!R || typeof R.createElement !== 'function') {
    throw new Error('scene-client: window.React is not set; load /runtime/host-runtime.js or call installHostGlobals');
  }
  return R;
}

const loaders = {
  scene: (client, id, version) => client.loadScene(id, { version }),
  project: (client, id, version) => client.loadProject(id, { version }),
};

// What the hooks read, per client and (kind, id, version). Unlike the client's own cache, a failure
// stays here until its Retry, so a re-render shows the error instead of importing again.
const records = new WeakMap();

function record(client, kind, id, version) {
  let map = records.get(client);
  if (!map) records.set(client, (map = new Map()));
  const key = `${kind}\u0000${id}\u0000${version == null ? '' : String(version)}`;
  let promise = map.get(key);
  if (!promise) {
    const loading = loaders[kind](client, id, version);
    promise = loading.status ? loading : track(loading);
    map.set(key, promise);
    if (map.size > 500) map.delete(map.keys().next().value);
    promise.catch((error) => {
      if (error && typeof error === 'object') error.retry = () => { if (map.get(key) === promise) map.delete(key); };
    });
  }
  return promise;
}

function read(client, kind, id, version) {
  const promise = record(client, kind, id, version);
  if (promise.status === 'fulfilled') return promise.value;
  if (promise.status === 'rejected') throw promise.reason;
  const R = react();
  if (typeof R.use === 'function') return R.use(promise); // React 19
  throw promise; // React 18: Suspense retries the render when it settles
}

// The first (id, version) suspends the caller; a later version of the same id is loaded first and
// only then shown, so a live edit swaps the old scene for the new one with nothing in between (no
// transition needed, which React 18 and 19 handle differently around a Player's own lazy component).
function useSettled(client, kind, id, version) {
  const R = react();
  const [shown, setShown] = R.useState(() => ({ id, version }));
  const sameId = shown.id === id;
  const settled = sameId && Object.is(shown.version, version);
  R.useEffect(() => {
    if (settled) return undefined;
    let live = true;
    const show = () => { if (live) setShown({ id, version }); };
    if (!sameId) show();
    else record(client, kind, id, version).then(show, show);
    return () => { live = false; };
  }, [client, kind, id, version, sameId, settled]);
  return read(client, kind, id, sameId ? shown.version : version);
}

/** The scene's module; suspends the caller (inside a SceneBoundary) until it is there. */
export function useSceneModule(client, sceneId, version) {
  return useSettled(client, 'scene', sceneId, version);
}

/**
 * The scene's component for `<Player component>`: the same function for the same (id, version),
 * so the Player keeps its state across renders. A new version is imported while the previous one
 * stays on screen, then replaces it.
 */
export function useSceneComponent(client, sceneId, version) {
  return useSceneModule(client, sceneId, version).default;
}

/** `{components, modules, order, scenes}` of a project; suspends and swaps like useSceneComponent. */
export function useProject(client, projectId, version) {
  return useSettled(client, 'project', projectId, version);
}

const FILL = {
  boxSizing: 'border-box', width: '100%', height: '100%', minHeight: 120, display: 'flex', flexDirection: 'column',
  alignItems: 'center', justifyContent: 'center', gap: 12, padding: 16, font: '15px system-ui, sans-serif',
};
const KEYFRAMES = '@keyframes scene-client-bar{0%{transform:translateX(-100%)}100%{transform:translateX(300%)}}';

/** The default loading state: text and a moving bar, never a blank frame. */
export function SceneLoading({ label = 'Compiling scene\u2026' }) {
  const h = react().createElement;
  return h('div', { role: 'status', 'aria-live': 'polite', 'data-scene-loading': '', style: { ...FILL, background: '#0f172a', color: '#cbd5e1' } },
    h('style', null, KEYFRAMES),
    h('span', null, label),
    h('div', { style: { width: '40%', height: 4, overflow: 'hidden', borderRadius: 2, background: '#1e293b' } },
      h('div', { style: { width: '33%', height: '100%', background: '#38bdf8', animation: 'scene-client-bar 1.1s ease-in-out infinite' } })));
}

/**
 * The default error panel: which scene, what happened (at its TSX line when the client can learn it:
 * `Scene.tsx:12:7: message`), and Retry (a fresh import).
 */
export function SceneError({ error, retry, label, client, sceneId = null, projectId = null }) {
  const R = react();
  const h = R.createElement;
  const [at, setAt] = R.useState(null);
  R.useEffect(() => {
    if (!client || typeof client.locateError !== 'function' || !error || typeof error !== 'object') return undefined;
    let live = true;
    setAt(null);
    client.locateError(error, { sceneId, projectId }).then((found) => { if (live) setAt(found); });
    return () => { live = false; };
  }, [client, error, sceneId, projectId]);
  const scene = label || (error && error.sceneId) || '';
  return h('div', { role: 'alert', 'data-scene-error': '', style: { ...FILL, background: '#2b0b0e', color: '#fecaca' } },
    h('strong', null, scene ? `Scene ${scene} could not be loaded` : 'The scene could not be loaded'),
    h('span', { style: { maxWidth: '90%', overflowWrap: 'anywhere', textAlign: 'center' } },
      describeAt(at, String((error && error.message) || error))),
    retry ? h('button', { type: 'button', onClick: retry, 'data-scene-retry': '' }, 'Retry') : null);
}

let Boundary = null;

function boundaryClass() {
  if (Boundary) return Boundary;
  const R = react();
  Boundary = class SceneErrorBoundary extends R.Component {
    constructor(props) {
      super(props);
      this.state = { error: null };
      this.retry = () => {
        const { error } = this.state;
        if (error && typeof error.retry === 'function') error.retry();
        this.setState({ error: null });
      };
    }

    static getDerivedStateFromError(error) {
      return { error: error ?? new Error('unknown error') };
    }

    componentDidCatch(error, info) {
      if (this.props.onError) this.props.onError(error, info);
    }

    componentDidUpdate(previous) {
      const a = previous.resetKeys || [];
      const b = this.props.resetKeys || [];
      if (this.state.error && (a.length !== b.length || a.some((k, i) => !Object.is(k, b[i])))) {
        this.setState({ error: null });
      }
    }

    render() {
      const { error } = this.state;
      const { children, fallback, errorFallback, label, client, sceneId, projectId } = this.props;
      const h = R.createElement;
      if (error) {
        if (typeof errorFallback === 'function') return errorFallback({ error, retry: this.retry });
        if (errorFallback !== undefined) return errorFallback;
        return h(SceneError, { error, retry: this.retry, label, client, sceneId, projectId });
      }
      return h(R.Suspense, { fallback: fallback !== undefined ? fallback : h(SceneLoading) }, children);
    }
  };
  return Boundary;
}

/** Suspense + an error boundary: a loading state, then the children, or an error panel with Retry. */
export function SceneBoundary(props) {
  return react().createElement(boundaryClass(), props);
}

function ScenePlayer({ client, sceneId, version, label, playerProps }) {
  const R = react();
  const mod = useSceneModule(client, sceneId, version);
  const Player = globalThis.RemotionPlayer && globalThis.RemotionPlayer.Player;
  const h = R.createElement;
  if (!Player) return h(mod.default, playerProps.inputProps || {});
  return h(Player, {
    component: mod.default,
    durationInFrames: (typeof mod.durationInFrames === 'number' && mod.durationInFrames > 0) ? mod.durationInFrames : 150,
    fps: 30,
    compositionWidth: 1920,
    compositionHeight: 1080,
    controls: true,
    style: { width: '100%' },
    errorFallback: ({ error }) => h(SceneError, { error, label: label || sceneId, client, sceneId }),
    ...playerProps,
  });
}

/**
 * One scene in the host's Remotion Player inside a SceneBoundary. While a new version loads the
 * previous one stays on screen; other props go to the Player.
 */
export function ServerScene({ client, sceneId, version, fallback, errorFallback, onError, label, ...playerProps }) {
  const R = react();
  return R.createElement(SceneBoundary, { fallback, errorFallback, onError, label, client, sceneId, resetKeys: [sceneId, version] },
    R.createElement(ScenePlayer, { client, sceneId, version, label, playerProps }));
}
