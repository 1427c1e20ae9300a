// Assets and render-lifecycle helpers: Img, Video/Audio, staticFile, delayRender & co.
import React, { forwardRef, useCallback, useContext, useEffect, useLayoutEffect, useRef } from 'react';
import { TimelineContext, VideoConfigContext, useCurrentFrame } from './context.js';

// delayRender handles are tracked (not enforced) so a still-frame preview can wait for the
// scene's own loading (images, fonts, fetches) before it reports itself ready.
const pending = new Map();
const waiters = new Set();
let nextHandle = 1;

function notify() {
  if (pending.size === 0) for (const resolve of [...waiters]) resolve();
}

export function delayRender(label) {
  const handle = nextHandle++;
  pending.set(handle, label ?? null);
  return handle;
}

export function continueRender(handle) {
  if (typeof handle !== 'number') {
    throw new TypeError(`The parameter passed into continueRender() must be the return value of delayRender(), but got ${typeof handle}`);
  }
  pending.delete(handle);
  notify();
}

export function cancelRender(error) {
  const err = error instanceof Error ? error : new Error(String(error));
  console.error('cancelRender() was called:', err);
  pending.clear();
  notify();
}

// Resolves once every delayRender() handle is continued, or after `timeoutMs`.
export function waitForDelayRenders(timeoutMs = 5000) {
  if (pending.size === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok) => {
      waiters.delete(onEmpty);
      clearTimeout(timer);
      resolve(ok);
    };
    const onEmpty = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    waiters.add(onEmpty);
  });
}

export function pendingDelayRenders() {
  return pending.size;
}

export function staticFile(path) {
  if (typeof path !== 'string') throw new TypeError('staticFile() requires a string');
  if (/^https?:\/\//.test(path)) {
    throw new TypeError(`staticFile() does not support remote URLs - got "${path}". Instead, pass the URL without wrapping it in staticFile().`);
  }
  if (path.startsWith('../') || path.startsWith('./')) {
    throw new TypeError(`staticFile() does not support relative paths - got "${path}". Instead, pass the name of a file that is inside the public/ folder.`);
  }
  const encoded = path.split('/').map((part) => encodeURIComponent(part)).join('/');
  return encoded.startsWith('/') ? encoded : `/${encoded}`;
}

function useDelayUntil(active) {
  const handleRef = useRef(null);
  const release = useCallback(() => {
    if (handleRef.current !== null) {
      continueRender(handleRef.current);
      handleRef.current = null;
    }
  }, []);
  useLayoutEffect(() => {
    if (active) handleRef.current = delayRender('Loading media');
    return release;
  }, [active, release]);
  return release;
}

export const Img = forwardRef(function Img({ onLoad, onError, src, ...props }, ref) {
  const release = useDelayUntil(Boolean(src));
  return (
    <img
      ref={ref}
      src={src}
      onLoad={(e) => { release(); onLoad?.(e); }}
      onError={(e) => { release(); onError?.(e); }}
      {...props}
    />
  );
});

export const IFrame = forwardRef(function IFrame(props, ref) {
  return <iframe ref={ref} {...props} />;
});

// Audio is silent in previews: autoplaying sound in a preview page is never what anyone wants.
export function Audio() {
  return null;
}

export const Video = forwardRef(function Video(
  { startFrom = 0, trimBefore, endAt, trimAfter, playbackRate = 1, muted, volume, loop, style, src, ...props },
  ref,
) {
  const frame = useCurrentFrame();
  const config = useContext(VideoConfigContext);
  const playing = Boolean(useContext(TimelineContext)?.playing);
  const own = useRef(null);
  const setRef = useCallback((node) => {
    own.current = node;
    if (typeof ref === 'function') ref(node);
    else if (ref) ref.current = node;
  }, [ref]);
  const fps = config?.fps ?? 30;
  const target = (((trimBefore ?? startFrom) + frame * playbackRate) / fps);
  useEffect(() => {
    const el = own.current;
    if (!el) return;
    el.playbackRate = playbackRate;
    // Seeking every frame while playing stutters; only correct real drift.
    const tolerance = playing ? 0.4 : 1 / fps / 2;
    if (Number.isFinite(target) && Math.abs(el.currentTime - target) > tolerance) {
      try { el.currentTime = target; } catch { /* not seekable yet */ }
    }
    if (playing && el.paused) el.play().catch(() => {});
    if (!playing && !el.paused) el.pause();
  }, [target, playing, playbackRate, fps]);
  return <video ref={setRef} src={src} muted playsInline preload="auto" style={style} {...props} />;
});

export const OffthreadVideo = Video;

// Registration APIs only matter to the Remotion Studio and renderer; in a page they are inert.
export function Composition() {
  return null;
}
export const Still = Composition;
export function Folder({ children }) {
  return <>{children}</>;
}
export function registerRoot() {}

export function getInputProps() {
  return {};
}

export function getRemotionEnvironment() {
  return {
    isStudio: false,
    isRendering: false,
    isPlayer: true,
    isReadOnlyStudio: false,
    isClientSideRendering: false,
  };
}

export function prefetch(src) {
  return { free: () => {}, waitUntilDone: () => Promise.resolve(src) };
}

export function useBufferState() {
  return { delayPlayback: () => ({ unblock: () => {} }) };
}

export function useDelayRender() {
  return { delayRender, continueRender, cancelRender };
}

