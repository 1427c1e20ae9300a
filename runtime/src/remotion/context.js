// The contexts a Player provides and the Remotion hooks read. Kept in one module so the Player
// and the `Remotion` global share the exact same context objects.
import { createContext, useContext, useMemo } from 'react';

// {frame, playing}: the absolute frame of the composition being shown.
export const TimelineContext = createContext(null);
// {width, height, fps, durationInFrames, id, defaultProps, props}
export const VideoConfigContext = createContext(null);
// Set by each <Sequence>: {cumulatedFrom, relativeFrom, durationInFrames, width, height}
export const SequenceContext = createContext(null);
export const ScaleContext = createContext(1);
export const LoopContext = createContext(null);

const OUTSIDE_PLAYER =
  'can only be called inside a component that was passed to <Player> (or rendered by the Remotion runtime).';

export function useTimelinePosition() {
  const timeline = useContext(TimelineContext);
  if (!timeline) throw new Error(`useCurrentFrame() ${OUTSIDE_PLAYER}`);
  return timeline.frame;
}

export function useCurrentFrame() {
  const frame = useTimelinePosition();
  const sequence = useContext(SequenceContext);
  const offset = sequence ? sequence.cumulatedFrom + sequence.relativeFrom : 0;
  return frame - offset;
}

export function useVideoConfig() {
  const config = useContext(VideoConfigContext);
  const sequence = useContext(SequenceContext);
  if (!config) throw new Error(`useVideoConfig() ${OUTSIDE_PLAYER}`);
  // Inside a <Sequence>, Remotion reports the sequence's duration and (when given) its size.
  return useMemo(
    () => ({
      ...config,
      width: sequence?.width ?? config.width,
      height: sequence?.height ?? config.height,
      durationInFrames: sequence?.durationInFrames ?? config.durationInFrames,
    }),
    [config, sequence],
  );
}

export function useCurrentScale() {
  return useContext(ScaleContext);
}

export function useIsPlaying() {
  return Boolean(useContext(TimelineContext)?.playing);
}
