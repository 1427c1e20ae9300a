// The `Remotion` global: an in-house subset of the `remotion` package's public API.
export { AbsoluteFill, Freeze, Loop, Sequence, Series } from './components.jsx';
export { useCurrentFrame, useCurrentScale, useVideoConfig } from './context.js';
export { Easing } from './easing.js';
export { interpolate } from './interpolate.js';
export { interpolateColors } from './colors.js';
export { random } from './random.js';
export { measureSpring, spring } from './spring.js';
export {
  Audio,
  cancelRender,
  Composition,
  continueRender,
  delayRender,
  Folder,
  getInputProps,
  getRemotionEnvironment,
  IFrame,
  Img,
  OffthreadVideo,
  prefetch,
  registerRoot,
  staticFile,
  Still,
  useBufferState,
  useDelayRender,
  Video,
} from './media.jsx';
export { Audio as Html5Audio, Video as Html5Video } from './media.jsx';

export const VERSION = '4.0.0-artifact-proxy';
export {
  evolvePath,
  fade,
  fillTextBox,
  fitText,
  getLength,
  getPointAtLength,
  linearTiming,
  measureText,
  none,
  slide,
  springTiming,
  TransitionSeries,
  wipe,
} from './extras.jsx';
