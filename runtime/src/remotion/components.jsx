// Remotion's layout and timing components: AbsoluteFill, Sequence, Series, Loop, Freeze.
import React, { Children, forwardRef, isValidElement, useContext, useMemo } from 'react';
import {
  LoopContext,
  SequenceContext,
  TimelineContext,
  useCurrentFrame,
  useTimelinePosition,
  useVideoConfig,
} from './context.js';

const FILL_STYLE = {
  position: 'absolute',
  top: 0,
  left: 0,
  right: 0,
  bottom: 0,
  width: '100%',
  height: '100%',
  display: 'flex',
  flexDirection: 'column',
};

export const AbsoluteFill = forwardRef(function AbsoluteFill({ style, ...props }, ref) {
  const merged = useMemo(() => ({ ...FILL_STYLE, ...style }), [style]);
  return <div ref={ref} style={merged} {...props} />;
});

function checkFrameNumber(name, value, component) {
  if (typeof value !== 'number') {
    throw new TypeError(`You passed to ${name} to <${component} /> an argument of type ${typeof value}, but it must be a number.`);
  }
  if (Number.isNaN(value)) throw new TypeError(`The "${name}" prop of <${component} /> must not be NaN.`);
}

export const Sequence = forwardRef(function Sequence(
  { from = 0, durationInFrames = Infinity, children, name, width, height, layout = 'absolute-fill', style,
    className, showInTimeline, premountFor, postmountFor, ...rest },
  ref,
) {
  if (layout !== 'absolute-fill' && layout !== 'none') {
    throw new TypeError(`The layout prop of <Sequence /> expects either "absolute-fill" or "none", but you passed: ${layout}`);
  }
  if (layout === 'none' && style !== undefined) throw new TypeError('If layout="none", you may not pass a style.');
  checkFrameNumber('durationInFrames', durationInFrames, 'Sequence');
  if (durationInFrames <= 0) throw new TypeError(`durationInFrames must be positive, but got ${durationInFrames}`);
  checkFrameNumber('from', from, 'Sequence');
  if (!Number.isFinite(from)) throw new TypeError(`The "from" prop of a sequence must be finite, but got ${from}.`);

  const parent = useContext(SequenceContext);
  const absoluteFrame = useTimelinePosition();
  const config = useVideoConfig();
  const cumulatedFrom = parent ? parent.cumulatedFrom + parent.relativeFrom : 0;
  const withinParent = parent ? Math.min(parent.durationInFrames - from, durationInFrames) : durationInFrames;
  const actualDuration = Math.max(0, Math.min(config.durationInFrames - from, withinParent));

  const value = useMemo(
    () => ({
      cumulatedFrom,
      relativeFrom: from,
      durationInFrames: actualDuration,
      parentFrom: parent?.relativeFrom ?? 0,
      width: width ?? parent?.width ?? null,
      height: height ?? parent?.height ?? null,
    }),
    [cumulatedFrom, from, actualDuration, parent, width, height],
  );
  const fillStyle = useMemo(
    () => ({ flexDirection: undefined, ...(width ? { width } : {}), ...(height ? { height } : {}), ...style }),
    [width, height, style],
  );

  const start = cumulatedFrom + from;
  const visible = absoluteFrame >= start && absoluteFrame <= start + durationInFrames - 1;
  let content = null;
  if (visible) {
    content = layout === 'none' ? children : (
      <AbsoluteFill ref={ref} style={fillStyle} className={className} {...rest}>{children}</AbsoluteFill>
    );
  }
  return <SequenceContext.Provider value={value}>{content}</SequenceContext.Provider>;
});

function SeriesSequence({ children }) {
  return <>{children}</>;
}

function flatten(children) {
  const out = [];
  Children.forEach(children, (child) => {
    if (isValidElement(child) && child.type === React.Fragment) out.push(...flatten(child.props.children));
    else out.push(child);
  });
  return out;
}

export function Series({ children }) {
  const items = flatten(children);
  let startFrame = 0;
  return (
    <>
      {items.map((child, i) => {
        if (typeof child === 'string') {
          if (child.trim() === '') return null;
          throw new TypeError(`The <Series /> component only accepts a list of <Series.Sequence /> components as its children, but you passed a string "${child}"`);
        }
        if (child === null || child === undefined || typeof child === 'boolean') return null;
        if (!isValidElement(child) || child.type !== SeriesSequence) {
          throw new TypeError('The <Series /> component only accepts a list of <Series.Sequence /> components as its children.');
        }
        const { durationInFrames, offset = 0, children: _inner, name, ...passed } = child.props;
        const isLast = i === items.length - 1;
        if (!(isLast && durationInFrames === Infinity)) {
          checkFrameNumber('durationInFrames', durationInFrames, 'Series.Sequence');
          if (!(durationInFrames > 0) || !Number.isFinite(durationInFrames)) {
            throw new TypeError(`durationInFrames of a <Series.Sequence /> must be a positive finite number (only the last may be Infinity), but got ${durationInFrames}`);
          }
        }
        if (!Number.isFinite(offset) || offset % 1 !== 0) {
          throw new TypeError(`The "offset" property of a <Series.Sequence /> must be an integer, but got ${offset}`);
        }
        const from = startFrame + offset;
        startFrame += durationInFrames + offset;
        return (
          <Sequence key={child.key ?? i} name={name || '<Series.Sequence>'} from={from} durationInFrames={durationInFrames} {...passed}>
            {child}
          </Sequence>
        );
      })}
    </>
  );
}
Series.Sequence = SeriesSequence;

export function Loop({ durationInFrames, times = Infinity, children, name, layout, style, ...rest }) {
  const frame = useCurrentFrame();
  const { durationInFrames: compDuration } = useVideoConfig();
  checkFrameNumber('durationInFrames', durationInFrames, 'Loop');
  if (!(durationInFrames > 0) || durationInFrames % 1 !== 0) {
    throw new TypeError(`The "durationInFrames" prop of <Loop /> must be a positive integer, but got ${durationInFrames}`);
  }
  if (typeof times !== 'number' || times < 0 || Number.isNaN(times)) {
    throw new TypeError(`The "times" prop of <Loop /> must be a non-negative number, but got ${times}`);
  }
  const actualTimes = Math.min(Math.ceil(compDuration / durationInFrames), times);
  const maxFrame = durationInFrames * (actualTimes - 1);
  const iteration = Math.floor(frame / durationInFrames);
  const from = Math.max(0, Math.min(iteration * durationInFrames, maxFrame));
  const loopValue = useMemo(
    () => ({ iteration: Math.floor(from / durationInFrames), durationInFrames }),
    [from, durationInFrames],
  );
  return (
    <LoopContext.Provider value={loopValue}>
      <Sequence durationInFrames={durationInFrames} from={from} name={name} layout={layout} style={style} {...rest}>
        {children}
      </Sequence>
    </LoopContext.Provider>
  );
}
Loop.useLoop = function useLoop() {
  return useContext(LoopContext);
};

export function Freeze({ frame: frozenAt, active = true, children }) {
  if (typeof frozenAt === 'undefined') throw new Error("The <Freeze /> component requires a 'frame' prop, but none was passed.");
  if (typeof frozenAt !== 'number') throw new Error(`The 'frame' prop of <Freeze /> must be a number, but is of type ${typeof frozenAt}`);
  if (!Number.isFinite(frozenAt)) throw new Error(`The 'frame' prop of <Freeze /> must be a finite number, but it is ${frozenAt}.`);
  const frame = useCurrentFrame();
  const timeline = useContext(TimelineContext);
  const sequence = useContext(SequenceContext);
  const isActive = typeof active === 'function' ? Boolean(active(frame)) : active !== false;
  const frozen = useMemo(() => ({ ...timeline, playing: false, frame: frozenAt }), [timeline, frozenAt]);
  // Children see exactly `frame`, whatever <Sequence>s enclose the <Freeze>. The providers stay
  // in place when inactive so toggling `active` does not remount the children.
  return (
    <TimelineContext.Provider value={isActive ? frozen : timeline}>
      <SequenceContext.Provider value={isActive ? null : sequence}>{children}</SequenceContext.Provider>
    </TimelineContext.Provider>
  );
}
