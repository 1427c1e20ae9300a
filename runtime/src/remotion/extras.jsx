// The compiler binds every `@remotion/*` import to the Remotion global, so the commonly used
// parts of @remotion/transitions, @remotion/paths and @remotion/layout-utils live here too.
import React, { Children, isValidElement } from 'react';
import { AbsoluteFill, Sequence } from './components.jsx';
import { useCurrentFrame, useVideoConfig } from './context.js';
import { interpolate } from './interpolate.js';
import { measureSpring, spring } from './spring.js';

// --- @remotion/transitions -------------------------------------------------------------------

export function linearTiming({ durationInFrames, easing } = {}) {
  return {
    getDurationInFrames: () => durationInFrames,
    getProgress: ({ frame }) =>
      interpolate(frame, [0, durationInFrames], [0, 1], { easing, extrapolateLeft: 'clamp', extrapolateRight: 'clamp' }),
  };
}

export function springTiming({ config = {}, durationInFrames, durationRestThreshold, reverse = false } = {}) {
  return {
    getDurationInFrames: ({ fps }) =>
      durationInFrames ?? measureSpring({ fps, config, threshold: durationRestThreshold }),
    getProgress: ({ frame, fps }) =>
      spring({ frame, fps, config, durationInFrames, durationRestThreshold, reverse }),
  };
}

function FadePresentation({ children, presentationDirection, presentationProgress, passedProps }) {
  const exiting = presentationDirection === 'exiting';
  const opacity = exiting ? (passedProps?.shouldFadeOutExitingScene ? 1 - presentationProgress : 1) : presentationProgress;
  return <AbsoluteFill style={{ opacity }}>{children}</AbsoluteFill>;
}

export function fade(props = {}) {
  return { component: FadePresentation, props };
}

const SLIDE_AXIS = { 'from-left': ['X', -1], 'from-right': ['X', 1], 'from-top': ['Y', -1], 'from-bottom': ['Y', 1] };

function SlidePresentation({ children, presentationDirection, presentationProgress, passedProps }) {
  const [axis, sign] = SLIDE_AXIS[passedProps?.direction ?? 'from-left'] ?? SLIDE_AXIS['from-left'];
  const offset = presentationDirection === 'entering'
    ? sign * 100 * (1 - presentationProgress)
    : -sign * 100 * presentationProgress;
  return <AbsoluteFill style={{ transform: `translate${axis}(${offset}%)` }}>{children}</AbsoluteFill>;
}

export function slide(props = {}) {
  return { component: SlidePresentation, props };
}

function WipePresentation({ children, presentationDirection, presentationProgress }) {
  if (presentationDirection === 'exiting') return <AbsoluteFill>{children}</AbsoluteFill>;
  const p = presentationProgress * 100;
  return <AbsoluteFill style={{ clipPath: `polygon(0 0, ${p}% 0, ${p}% 100%, 0 100%)` }}>{children}</AbsoluteFill>;
}

export function wipe(props = {}) {
  return { component: WipePresentation, props };
}

export function none(props = {}) {
  return { component: ({ children }) => <AbsoluteFill>{children}</AbsoluteFill>, props };
}

function TransitionSequence({ children }) {
  return <>{children}</>;
}
function Transition() {
  return null;
}
function Overlay() {
  return null;
}

function Transitioned({ durationInFrames, enter, exit, children }) {
  const frame = useCurrentFrame();
  const { fps } = useVideoConfig();
  let content = children;
  const wrap = (transition, direction, localFrame, inner) => {
    const presentation = transition.presentation ?? fade();
    const P = presentation.component;
    const progress = transition.timing.getProgress({ frame: localFrame, fps });
    return (
      <P presentationDirection={direction} presentationProgress={progress} passedProps={presentation.props ?? {}}
        presentationDurationInFrames={transition.duration}>
        {inner}
      </P>
    );
  };
  if (enter && frame < enter.duration) content = wrap(enter, 'entering', frame, content);
  if (exit && frame >= durationInFrames - exit.duration) {
    content = wrap(exit, 'exiting', frame - (durationInFrames - exit.duration), content);
  }
  return content;
}

export function TransitionSeries({ children }) {
  const { fps } = useVideoConfig();
  const items = Children.toArray(children).filter(isValidElement);
  const transitionAt = (i) => {
    const el = items[i];
    if (!el || el.type !== Transition) return null;
    const timing = el.props.timing ?? linearTiming({ durationInFrames: 30 });
    return { ...el.props, timing, duration: timing.getDurationInFrames({ fps }) };
  };
  let cursor = 0;
  const out = [];
  items.forEach((el, i) => {
    if (el.type !== TransitionSequence) return;
    const { durationInFrames, offset = 0, children: inner, name, ...rest } = el.props;
    const enter = transitionAt(i - 1);
    const exit = transitionAt(i + 1);
    const from = cursor + offset - (enter ? enter.duration : 0);
    cursor = from + durationInFrames;
    out.push(
      <Sequence key={el.key ?? i} from={from} durationInFrames={durationInFrames} name={name} {...rest}>
        <Transitioned durationInFrames={durationInFrames} enter={enter} exit={exit}>{inner}</Transitioned>
      </Sequence>,
    );
  });
  return <>{out}</>;
}
TransitionSeries.Sequence = TransitionSequence;
TransitionSeries.Transition = Transition;
TransitionSeries.Overlay = Overlay;

// --- @remotion/paths -----------------------------------------------------------------------

let measurePath = null;
export function getLength(path) {
  measurePath ??= document.createElementNS('http://www.w3.org/2000/svg', 'path');
  measurePath.setAttribute('d', path);
  return measurePath.getTotalLength();
}

export function evolvePath(progress, path) {
  const length = getLength(path);
  return { strokeDasharray: `${length} ${length}`, strokeDashoffset: length - progress * length };
}

export function getPointAtLength(path, length) {
  measurePath ??= document.createElementNS('http://www.w3.org/2000/svg', 'path');
  measurePath.setAttribute('d', path);
  const p = measurePath.getPointAtLength(length);
  return { x: p.x, y: p.y };
}

// --- @remotion/layout-utils ----------------------------------------------------------------

let measureCtx = null;
function context2d() {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  return measureCtx;
}

export function measureText({ text, fontFamily, fontSize, fontWeight = 'normal', letterSpacing = '0px', fontVariantNumeric }) {
  const ctx = context2d();
  ctx.font = `${fontWeight} ${typeof fontSize === 'number' ? `${fontSize}px` : fontSize} ${fontFamily}`;
  ctx.letterSpacing = letterSpacing;
  const m = ctx.measureText(text);
  const height = (m.fontBoundingBoxAscent ?? 0) + (m.fontBoundingBoxDescent ?? 0);
  return { width: m.width, height: height || (typeof fontSize === 'number' ? fontSize * 1.2 : 0), fontVariantNumeric };
}

export function fitText({ text, withinWidth, fontFamily, fontWeight, letterSpacing }) {
  const base = 100;
  const { width } = measureText({ text, fontFamily, fontSize: base, fontWeight, letterSpacing });
  return { fontSize: width > 0 ? (withinWidth / width) * base : base };
}

export function fillTextBox({ maxBoxWidth, maxLines }) {
  const lines = [];
  return {
    add: ({ text, fontFamily, fontSize, fontWeight, letterSpacing }) => {
      const { width } = measureText({ text, fontFamily, fontSize, fontWeight, letterSpacing });
      const last = lines[lines.length - 1];
      if (last !== undefined && last + width <= maxBoxWidth) {
        lines[lines.length - 1] = last + width;
        return { exceedsBox: false, newLine: false };
      }
      lines.push(width);
      return { exceedsBox: lines.length > maxLines, newLine: lines.length > 1 };
    },
  };
}
