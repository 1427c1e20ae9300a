// RemotionPlayer.Player: renders a composition at its own size, scaled to fit its container,
// and drives the frame clock the Remotion hooks read.
import React, {
  Component,
  forwardRef,
  lazy,
  Suspense,
  useCallback,
  useEffect,
  useImperativeHandle,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { ScaleContext, TimelineContext, VideoConfigContext } from './remotion/context.js';

function checkPositive(name, value, integer) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && value % 1 !== 0)) {
    throw new TypeError(`"${name}" of <Player /> must be a positive ${integer ? 'integer' : 'number'}, but got ${value}`);
  }
}

function formatTime(frame, fps) {
  const seconds = frame / fps;
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return `${m}:${String(s).padStart(2, '0')}`;
}

class SceneErrorBoundary extends Component {
  constructor(props) {
    super(props);
    this.state = { error: null };
  }

  static getDerivedStateFromError(error) {
    return { error: error ?? new Error('Unknown error') };
  }

  componentDidCatch(error, info) {
    this.props.onError?.(error, info);
  }

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    if (this.props.errorFallback) return this.props.errorFallback({ error });
    return (
      <div role="alert" style={DEFAULT_ERROR_STYLE}>
        <strong>The composition crashed</strong>
        <span>{String(error?.message ?? error)}</span>
      </div>
    );
  }
}

const DEFAULT_ERROR_STYLE = {
  position: 'absolute', inset: 0, display: 'flex', flexDirection: 'column', alignItems: 'center',
  justifyContent: 'center', gap: 8, color: '#fecaca', background: '#1f0f10', font: '16px system-ui, sans-serif',
  padding: 16, textAlign: 'center',
};

const ICON = { width: 20, height: 20, viewBox: '0 0 24 24', fill: 'currentColor', 'aria-hidden': true };
const PlayIcon = () => <svg {...ICON}><path d="M7 4.5v15l13-7.5z" /></svg>;
const PauseIcon = () => <svg {...ICON}><path d="M6 4h4v16H6zM14 4h4v16h-4z" /></svg>;
const FullscreenIcon = () => (
  <svg {...ICON}><path d="M4 4h6v2H6v4H4zM14 4h6v6h-2V6h-4zM4 14h2v4h4v2H4zM18 14h2v6h-6v-2h4z" /></svg>
);

const BUTTON_STYLE = {
  background: 'transparent', border: 0, color: 'white', cursor: 'pointer', padding: 6, display: 'flex',
  alignItems: 'center', borderRadius: 4,
};

function Controls({ frame, durationInFrames, fps, playing, onToggle, onSeek, onSeekStart, onSeekEnd, onFullscreen, visible }) {
  return (
    <div
      data-remotion-controls=""
      onClick={(e) => e.stopPropagation()}
      style={{
        position: 'absolute', left: 0, right: 0, bottom: 0, display: 'flex', alignItems: 'center', gap: 10,
        padding: '24px 12px 8px', background: 'linear-gradient(transparent, rgba(0,0,0,0.6))', color: 'white',
        font: '13px/1 system-ui, -apple-system, "Segoe UI", sans-serif', opacity: visible ? 1 : 0,
        transition: 'opacity 0.2s', pointerEvents: visible ? 'auto' : 'none', zIndex: 2,
      }}
    >
      <button type="button" aria-label={playing ? 'Pause' : 'Play'} title={playing ? 'Pause' : 'Play'} onClick={onToggle} style={BUTTON_STYLE}>
        {playing ? <PauseIcon /> : <PlayIcon />}
      </button>
      <input
        type="range"
        aria-label="Seek"
        min={0}
        max={Math.max(0, durationInFrames - 1)}
        step={1}
        value={frame}
        onPointerDown={onSeekStart}
        onPointerUp={onSeekEnd}
        onChange={(e) => onSeek(Number(e.target.value))}
        style={{ flex: 1, accentColor: 'white', cursor: 'pointer', margin: 0 }}
      />
      <span data-remotion-time="" style={{ fontVariantNumeric: 'tabular-nums', whiteSpace: 'nowrap' }}>
        {formatTime(frame, fps)} / {formatTime(durationInFrames, fps)}
      </span>
      <span data-remotion-frame-counter="" style={{ fontVariantNumeric: 'tabular-nums', whiteSpace: 'nowrap', opacity: 0.8 }}>
        {frame} / {durationInFrames - 1}
      </span>
      {onFullscreen ? (
        <button type="button" aria-label="Fullscreen" title="Fullscreen" onClick={onFullscreen} style={BUTTON_STYLE}>
          <FullscreenIcon />
        </button>
      ) : null}
    </div>
  );
}

function useContainerSize(ref) {
  const [size, setSize] = useState(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const measure = () => {
      const r = el.getBoundingClientRect();
      setSize((prev) => (prev && prev.width === r.width && prev.height === r.height ? prev : { width: r.width, height: r.height }));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return size;
}

export const Player = forwardRef(function Player(
  {
    component,
    lazyComponent,
    durationInFrames,
    compositionWidth,
    compositionHeight,
    fps,
    controls = false,
    loop = false,
    autoPlay = false,
    initialFrame = 0,
    style,
    className,
    inputProps,
    clickToPlay,
    spaceKeyToPlayOrPause = true,
    allowFullscreen = true,
    playbackRate = 1,
    moveToBeginningWhenEnded = true,
    errorFallback,
    renderLoading,
    onError,
    alwaysShowControls = false,
  },
  ref,
) {
  checkPositive('durationInFrames', durationInFrames, true);
  checkPositive('compositionWidth', compositionWidth, false);
  checkPositive('compositionHeight', compositionHeight, false);
  checkPositive('fps', fps, false);
  if (!component && !lazyComponent) throw new TypeError('<Player /> needs a "component" or "lazyComponent" prop');

  const lastFrame = durationInFrames - 1;
  const clamp = useCallback((f) => Math.max(0, Math.min(lastFrame, Math.round(f))), [lastFrame]);
  const [frame, setFrame] = useState(() => clamp(initialFrame));
  const [playing, setPlaying] = useState(false);
  const [hovered, setHovered] = useState(false);
  const [seeking, setSeeking] = useState(false);
  // Bumped on every seek so a running clock restarts from the new frame.
  const [clockEpoch, setClockEpoch] = useState(0);
  const frameRef = useRef(frame);
  frameRef.current = frame;
  const playingRef = useRef(playing);
  playingRef.current = playing;
  const containerRef = useRef(null);
  const listeners = useRef(new Map());

  const emit = useCallback((name, detail) => {
    for (const cb of listeners.current.get(name) ?? []) {
      try {
        cb({ detail });
      } catch (e) {
        console.error(e);
      }
    }
  }, []);

  const seekTo = useCallback((f) => {
    const next = clamp(f);
    frameRef.current = next;
    setFrame(next);
    setClockEpoch((n) => n + 1);
    emit('seeked', { frame: next });
  }, [clamp, emit]);

  const play = useCallback(() => {
    if (playingRef.current) return;
    if (frameRef.current >= lastFrame && !loop && moveToBeginningWhenEnded) seekTo(0);
    setPlaying(true);
  }, [lastFrame, loop, moveToBeginningWhenEnded, seekTo]);
  const pause = useCallback(() => setPlaying(false), []);
  const toggle = useCallback(() => (playingRef.current ? pause() : play()), [play, pause]);

  useImperativeHandle(ref, () => ({
    play,
    pause,
    toggle,
    seekTo,
    getCurrentFrame: () => frameRef.current,
    isPlaying: () => playingRef.current,
    getContainerNode: () => containerRef.current,
    requestFullscreen: () => containerRef.current?.requestFullscreen?.(),
    addEventListener: (name, cb) => {
      if (!listeners.current.has(name)) listeners.current.set(name, new Set());
      listeners.current.get(name).add(cb);
    },
    removeEventListener: (name, cb) => listeners.current.get(name)?.delete(cb),
  }), [play, pause, toggle, seekTo]);

  useEffect(() => {
    if (autoPlay) play();
    // Only on mount, like Remotion's autoPlay.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const firstPlayState = useRef(true);
  useEffect(() => {
    if (firstPlayState.current) {
      firstPlayState.current = false;
      return;
    }
    emit(playing ? 'play' : 'pause');
  }, [playing, emit]);

  useEffect(() => {
    emit('frameupdate', { frame });
  }, [frame, emit]);

  // The clock: frame = start + elapsed * fps, so playback keeps real time even when renders are slow.
  useEffect(() => {
    if (!playing) return undefined;
    const startFrame = frameRef.current;
    const startTime = performance.now();
    let handle = 0;
    const tick = (now) => {
      const elapsed = Math.max(0, now - startTime);
      let next = startFrame + Math.floor((elapsed / 1000) * fps * playbackRate);
      if (next > lastFrame) {
        if (loop) {
          next %= durationInFrames;
        } else {
          frameRef.current = lastFrame;
          setFrame(lastFrame);
          setPlaying(false);
          emit('ended');
          return;
        }
      }
      if (next !== frameRef.current) {
        frameRef.current = next;
        setFrame(next);
      }
      handle = requestAnimationFrame(tick);
    };
    handle = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(handle);
  }, [playing, clockEpoch, fps, playbackRate, lastFrame, loop, durationInFrames, emit]);

  const size = useContainerSize(containerRef);
  const scale = size ? Math.min(size.width / compositionWidth, size.height / compositionHeight) : 0;

  const videoConfig = useMemo(() => ({
    width: compositionWidth,
    height: compositionHeight,
    fps,
    durationInFrames,
    id: 'player-comp',
    defaultProps: {},
    props: inputProps ?? {},
    defaultCodec: null,
  }), [compositionWidth, compositionHeight, fps, durationInFrames, inputProps]);
  const timeline = useMemo(() => ({ frame, playing }), [frame, playing]);

  const LazyScene = useMemo(() => (lazyComponent ? lazy(lazyComponent) : null), [lazyComponent]);
  const Scene = component ?? LazyScene;

  const onKeyDown = (e) => {
    if (e.target instanceof HTMLInputElement && e.key !== ' ') return;
    if (e.key === ' ' && spaceKeyToPlayOrPause) {
      e.preventDefault();
      toggle();
    } else if (e.key === 'ArrowLeft') {
      seekTo(frameRef.current - 1);
    } else if (e.key === 'ArrowRight') {
      seekTo(frameRef.current + 1);
    }
  };

  const canFullscreen = allowFullscreen && typeof document !== 'undefined' && document.fullscreenEnabled;
  const showControls = controls && (alwaysShowControls || hovered || seeking);

  return (
    <div
      ref={containerRef}
      className={className}
      data-remotion-player=""
      data-frame={frame}
      data-playing={playing ? 'true' : 'false'}
      tabIndex={0}
      onKeyDown={onKeyDown}
      onPointerEnter={() => setHovered(true)}
      onPointerLeave={() => setHovered(false)}
      onFocus={() => setHovered(true)}
      onBlur={() => setHovered(false)}
      onClick={(clickToPlay ?? controls) ? toggle : undefined}
      style={{
        position: 'relative', overflow: 'hidden', width: '100%', aspectRatio: `${compositionWidth} / ${compositionHeight}`,
        outline: 'none', ...style,
      }}
    >
      <div
        data-remotion-canvas=""
        style={{
          position: 'absolute',
          width: compositionWidth,
          height: compositionHeight,
          left: size ? (size.width - compositionWidth * scale) / 2 : 0,
          top: size ? (size.height - compositionHeight * scale) / 2 : 0,
          transform: `scale(${scale})`,
          transformOrigin: '0 0',
          overflow: 'hidden',
          visibility: size ? 'visible' : 'hidden',
        }}
      >
        <VideoConfigContext.Provider value={videoConfig}>
          <TimelineContext.Provider value={timeline}>
            <ScaleContext.Provider value={scale || 1}>
              <SceneErrorBoundary errorFallback={errorFallback} onError={(error, info) => { onError?.(error, info); emit('error', { error }); }}>
                <Suspense fallback={renderLoading ? renderLoading({ height: compositionHeight, width: compositionWidth }) : null}>
                  <Scene {...(inputProps ?? {})} />
                </Suspense>
              </SceneErrorBoundary>
            </ScaleContext.Provider>
          </TimelineContext.Provider>
        </VideoConfigContext.Provider>
      </div>
      {controls ? (
        <Controls
          frame={frame}
          durationInFrames={durationInFrames}
          fps={fps}
          playing={playing}
          visible={showControls}
          onToggle={toggle}
          onSeek={seekTo}
          onSeekStart={() => setSeeking(true)}
          onSeekEnd={() => setSeeking(false)}
          onFullscreen={canFullscreen ? () => containerRef.current?.requestFullscreen?.() : null}
        />
      ) : null}
    </div>
  );
});
