// ArtifactProxyPreview: the /preview/{sceneId} page. Imports the compiled scene module and plays
// its default export in a Player; every failure ends in a readable panel, never a blank page.
import React, { Component, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Player } from '@remotion/player';
// The scene client's stack-frame parsing and position lookup, bundled in (one copy of it).
import { describeAt, locateError } from '../../client/src/positions.js';

const WIDTH = 1920;
const HEIGHT = 1080;
const FPS = 30;
const DEFAULT_DURATION = 150;
const DELAY_RENDER_BUDGET_MS = 5000;

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const FULL = { position: 'absolute', inset: 0, display: 'flex', alignItems: 'center', justifyContent: 'center' };

// Remotion keeps `window.remotion_renderReady` false while a delayRender() handle is open (a font
// loading, an <Img> decoding) and sets it true when the last one is continued. It starts false
// with no handle open, so the runtime marks it ready when it loads (index.jsx).
export function waitForDelayRenders(budgetMs) {
  const start = performance.now();
  return new Promise((resolve) => {
    const poll = () => {
      if (window.remotion_renderReady !== false || performance.now() - start > budgetMs) resolve();
      else setTimeout(poll, 25);
    };
    poll();
  });
}

function setBodyState(state) {
  document.body.dataset.state = state;
  if (state === 'loading') delete document.body.dataset.ready;
  else document.body.dataset.ready = '1';
}

// Any export named durationInFrames* (e.g. `durationInFrames_abc123`) sets the length.
export function durationFromModule(mod) {
  const names = Object.keys(mod).filter((k) => k.startsWith('durationInFrames'));
  names.sort((a, b) => (a === 'durationInFrames' ? -1 : b === 'durationInFrames' ? 1 : a.localeCompare(b)));
  for (const name of names) {
    const v = mod[name];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 1) return Math.round(v);
  }
  return DEFAULT_DURATION;
}

// Browsers cache a failed import() for the page's lifetime, so a retry needs a new URL.
export function retryUrl(url, stamp) {
  const u = new URL(url, document.baseURI);
  u.searchParams.set('retry', String(stamp));
  return u.href;
}

function describeCompileError(value) {
  if (value && typeof value === 'object') {
    return {
      message: String(value.message ?? 'The scene failed to compile'),
      line: Number.isFinite(Number(value.line)) ? Number(value.line) : 0,
      column: Number.isFinite(Number(value.column)) ? Number(value.column) : 0,
    };
  }
  return { message: String(value), line: 0, column: 0 };
}

function isComponent(value) {
  return typeof value === 'function' || (typeof value === 'object' && value !== null && '$$typeof' in value);
}

function Loading() {
  const [progress, setProgress] = useState(5);
  useEffect(() => {
    const start = performance.now();
    // The compile has no progress signal: an easing curve toward 90% shows it is alive.
    const timer = setInterval(() => setProgress(5 + 85 * (1 - Math.exp(-(performance.now() - start) / 1500))), 100);
    return () => clearInterval(timer);
  }, []);
  return (
    <div data-preview-loading="" role="status" style={{ ...FULL, flexDirection: 'column', gap: 16, color: '#d4d4d8', font: `16px ${FONT}` }}>
      <div>Compiling scene...</div>
      <div role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(progress)}
        style={{ width: 240, height: 4, borderRadius: 2, background: '#27272a', overflow: 'hidden' }}>
        <div style={{ width: `${progress}%`, height: '100%', background: '#a78bfa', transition: 'width 0.1s linear' }} />
      </div>
    </div>
  );
}

// Every value is rendered as text by React: scene code and compiler messages are untrusted.
function ErrorPanel({ title, message, line, column, detail, onRetry }) {
  return (
    <div style={{ ...FULL, padding: 24, boxSizing: 'border-box' }}>
      <div
        role="alert"
        data-preview-error=""
        style={{
          maxWidth: 760, width: '100%', background: '#18181b', border: '1px solid #7f1d1d', borderRadius: 10,
          padding: '20px 24px', color: '#e4e4e7', font: `15px/1.5 ${FONT}`, boxShadow: '0 10px 30px rgba(0,0,0,0.5)',
        }}
      >
        <h1 data-error-title="" style={{ margin: '0 0 8px', fontSize: 18, color: '#fca5a5' }}>{title}</h1>
        <pre data-error-message="" style={{ margin: 0, whiteSpace: 'pre-wrap', wordBreak: 'break-word', font: '14px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace', color: '#fafafa' }}>
          {message}
        </pre>
        {line ? (
          <p data-error-location="" style={{ margin: '10px 0 0', color: '#a1a1aa' }}>
            Line <span data-error-line="">{line}</span>, column <span data-error-column="">{column}</span>
          </p>
        ) : null}
        {detail ? (
          <details style={{ marginTop: 10, color: '#a1a1aa' }}>
            <summary style={{ cursor: 'pointer' }}>Details</summary>
            <pre style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word', fontSize: 12 }}>{detail}</pre>
          </details>
        ) : null}
        <button
          type="button"
          onClick={onRetry}
          style={{ marginTop: 16, padding: '6px 14px', borderRadius: 6, border: '1px solid #52525b', background: '#27272a', color: '#fafafa', cursor: 'pointer', font: `14px ${FONT}` }}
        >
          Retry
        </button>
      </div>
    </div>
  );
}

// Last line of defence for errors outside the scene (a broken Player prop, a bad module shape).
class PageBoundary extends Component {
  constructor(props) {
    super(props);
    this.state = { error: null };
  }

  static getDerivedStateFromError(error) {
    return { error };
  }

  componentDidCatch(error) {
    this.props.onError(error);
  }

  render() {
    return this.state.error ? null : this.props.children;
  }
}

function runtimeError(error, title = 'The scene crashed while rendering') {
  return {
    title,
    message: String(error?.message ?? error ?? 'Unknown error'),
    line: 0,
    column: 0,
    detail: typeof error?.stack === 'string' ? error.stack.split('\n').slice(0, 8).join('\n') : '',
  };
}

// The Player's events as data attributes on the root element: `data-frame`, `data-playing`.
function usePlayerState(playerRef, rootElement, ready) {
  useEffect(() => {
    const player = playerRef.current;
    if (!ready || !player) return undefined;
    const sync = () => {
      rootElement.dataset.frame = String(player.getCurrentFrame());
      rootElement.dataset.playing = String(player.isPlaying());
    };
    const events = ['frameupdate', 'seeked', 'play', 'pause', 'ended'];
    for (const e of events) player.addEventListener(e, sync);
    sync();
    return () => {
      for (const e of events) player.removeEventListener(e, sync);
    };
  }, [playerRef, rootElement, ready]);
}

// The scene as the Player renders it, telling the preview once it has committed (a scene that
// throws never does: its error reaches the Player's errorFallback instead).
function withCommitSignal(Scene, signal) {
  return function SceneCommitted(props) {
    useEffect(() => signal(() => Scene), []); // a function given to a state setter is an updater
    return <Scene {...props} />;
  };
}

// The Player's errorFallback renders this; the error goes to the page's panel after commit.
function ReportError({ error, onError }) {
  useEffect(() => onError(error), [error, onError]);
  return null;
}

function Preview({ componentUrl, frame, rootElement, sceneId }) {
  const still = frame !== null && frame !== undefined && Number.isFinite(Number(frame));
  const [attempt, setAttempt] = useState(0);
  const [state, setState] = useState({ status: 'loading' });
  const playerRef = useRef(null);

  useEffect(() => {
    let cancelled = false;
    setBodyState('loading');
    setState({ status: 'loading' });
    const url = attempt === 0 ? componentUrl : retryUrl(componentUrl, Date.now());
    import(/* webpackIgnore: true */ url).then(
      (mod) => {
        if (cancelled) return;
        if (mod.compilationError) {
          const info = describeCompileError(mod.compilationError);
          setState({ status: 'error', error: { title: 'The scene failed to compile', ...info } });
        } else if (!isComponent(mod.default)) {
          setState({ status: 'error', error: { title: 'The scene cannot be shown', message: 'The scene module has no default export component.', line: 0, column: 0 } });
        } else {
          setState({ status: 'ready', Scene: mod.default, durationInFrames: durationFromModule(mod) });
        }
      },
      (err) => {
        if (cancelled) return;
        setState({ status: 'error', error: runtimeError(err, 'The scene could not be loaded') });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [componentUrl, attempt]);

  const onSceneError = useCallback((error) => {
    const info = runtimeError(error);
    setState((s) => (s.status === 'error' ? s : { status: 'error', error: info }));
    // then, when the proxy can map the frame to the TSX: `Scene.tsx:12:7: message` and its line
    const base = new URL(componentUrl).origin;
    locateError(error, { base, sceneId }).then((at) => {
      if (!at) return;
      setState((s) => (s.status === 'error' && s.error === info
        ? { status: 'error', error: { ...info, message: describeAt(at, info.message), line: at.line, column: at.column } }
        : s));
    });
  }, [componentUrl, sceneId]);

  // The Player renders the scene a little after it mounts (through its own Suspense): readiness
  // waits for the scene's first commit, or for its error, whichever comes.
  const [committed, setCommitted] = useState(null);
  const Shown = useMemo(() => (state.status === 'ready' ? withCommitSignal(state.Scene, setCommitted) : null), [state]);

  // Ready means the requested frame is on screen: after the scene's commit, its own delayRender()s,
  // fonts, and two animation frames (layout + paint).
  useEffect(() => {
    if (state.status === 'error') {
      setBodyState('error');
      return undefined;
    }
    if (state.status !== 'ready' || committed !== state.Scene) return undefined;
    let cancelled = false;
    Promise.all([waitForDelayRenders(DELAY_RENDER_BUDGET_MS), document.fonts?.ready]).then(() => {
      requestAnimationFrame(() => requestAnimationFrame(() => {
        if (!cancelled && document.body.dataset.state !== 'error') setBodyState(still ? 'still' : 'playing');
      }));
    });
    return () => {
      cancelled = true;
    };
  }, [state, still, committed]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  const errorFallback = useCallback(({ error }) => <ReportError error={error} onError={onSceneError} />, [onSceneError]);
  usePlayerState(playerRef, rootElement, state.status === 'ready');

  if (state.status === 'loading') return <Loading />;
  if (state.status === 'error') return <ErrorPanel {...state.error} onRetry={retry} />;
  const { durationInFrames } = state;
  const initialFrame = still ? Math.max(0, Math.min(durationInFrames - 1, Math.round(Number(frame)))) : 0;
  return (
    <PageBoundary onError={onSceneError}>
      <Player
        key={attempt}
        ref={playerRef}
        component={Shown}
        durationInFrames={durationInFrames}
        compositionWidth={WIDTH}
        compositionHeight={HEIGHT}
        fps={FPS}
        controls
        loop
        autoPlay={!still}
        initialFrame={initialFrame}
        inputProps={{}}
        errorFallback={errorFallback}
        acknowledgeRemotionLicense
        style={{ position: 'absolute', inset: 0, width: '100%', height: '100%', aspectRatio: 'auto' }}
      />
    </PageBoundary>
  );
}

export function mount(rootElement, { componentUrl, frame = null, sceneId = '' } = {}) {
  if (!rootElement) throw new TypeError('ArtifactProxyPreview.mount() needs a root element');
  if (typeof componentUrl !== 'string' || !componentUrl) throw new TypeError('ArtifactProxyPreview.mount() needs a componentUrl');
  // Everything inside is laid out to fill the root element, whatever size the page gives it.
  if (getComputedStyle(rootElement).position === 'static') rootElement.style.position = 'relative';
  rootElement.dataset.sceneId = String(sceneId ?? '');
  // import() in a classic script resolves against the script's URL, not the page's.
  const absolute = new URL(componentUrl, document.baseURI).href;
  const root = createRoot(rootElement);
  root.render(<Preview componentUrl={absolute} frame={frame} rootElement={rootElement} sceneId={String(sceneId ?? '')} />);
  return { unmount: () => root.unmount() };
}

export const ArtifactProxyPreview = { mount, durationFromModule, retryUrl };
