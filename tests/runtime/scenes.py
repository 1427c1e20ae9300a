"""Hand-written ES modules shaped like compiled scenes: no imports, libraries read from globals."""

FRAME_SCENE = """
const React = globalThis.React;
const { AbsoluteFill, Sequence, useCurrentFrame, useVideoConfig, interpolate } = globalThis.Remotion;
function Label() {
  const frame = useCurrentFrame();
  return React.createElement('p', { id: 'seq-frame', style: { color: '#fde68a', fontSize: 48 } }, 'seq ' + frame);
}
export default function Scene() {
  const frame = useCurrentFrame();
  const { width, height, fps, durationInFrames } = useVideoConfig();
  const opacity = interpolate(frame, [0, 30], [0.2, 1], { extrapolateRight: 'clamp' });
  const h = React.createElement;
  const fill = { background: 'linear-gradient(135deg, #1e3a8a, #7c3aed)', alignItems: 'center',
                 justifyContent: 'center', fontFamily: 'sans-serif' };
  return h(AbsoluteFill, { style: fill },
    h('h1', { id: 'title', style: { color: 'white', fontSize: 140, margin: 0, opacity } }, 'Hello from the scene'),
    h('h2', { id: 'frame', style: { color: 'white', fontSize: 90, margin: 0 } }, 'Frame ' + frame),
    h('p', { id: 'config', style: { color: '#c7d2fe', fontSize: 40 } },
      [width, height, fps, durationInFrames].join('x')),
    h(Sequence, { from: 10, layout: 'none' }, h(Label)));
}
"""

DURATION_SCENE = """
const React = globalThis.React;
const { AbsoluteFill, useVideoConfig } = globalThis.Remotion;
export const durationInFrames_x = 90;
export default function Scene() {
  const { durationInFrames } = useVideoConfig();
  return React.createElement(AbsoluteFill, { style: { background: '#064e3b' } },
    React.createElement('h1', { id: 'duration', style: { color: 'white' } }, 'duration ' + durationInFrames));
}
"""

THROWING_SCENE = """
const React = globalThis.React;
const { useCurrentFrame } = globalThis.Remotion;
export default function Scene() {
  const frame = useCurrentFrame();
  if (frame >= 0) throw new Error('Boom <b>not bold</b> at render');
  return React.createElement('div', null, 'unreachable');
}
"""

ERROR_MODULE = """
const React = globalThis.React;
export const compilationError = { message: "Unexpected token <img src=x onerror=alert(1)>", line: 3, column: 7 };
export default function E() {
  return React.createElement('pre', { id: 'server-panel' }, 'server error panel: ' + compilationError.message);
}
"""

NO_DEFAULT_MODULE = """
export const something = 1;
"""


def same_names_scene(label: str, color: str) -> str:
    """Two of these on one page declare the same top-level names; modules must keep them apart."""
    return f"""
const React = globalThis.React;
const {{ AbsoluteFill, useCurrentFrame }} = globalThis.Remotion;
const Title = ({{ children }}) =>
  React.createElement('h1', {{ className: 'same-name', style: {{ color: 'white', fontSize: 120 }} }}, children);
const LABEL = {label!r};
export default function Scene() {{
  const frame = useCurrentFrame();
  const fill = {{ background: {color!r}, alignItems: 'center', justifyContent: 'center' }};
  return React.createElement(AbsoluteFill, {{ style: fill }},
    React.createElement(Title, null, LABEL + ' ' + frame));
}}
"""


KITCHEN_SINK_SCENE = """
const React = globalThis.React;
const h = React.createElement;
const { AbsoluteFill, Series, Sequence, Loop, Freeze, useCurrentFrame, spring, useVideoConfig,
        interpolateColors, Img } = globalThis.Remotion;
const { Circle, Star, Rect, Triangle, Ellipse } = globalThis.RemotionShapes;
const { Icon, addIcon } = globalThis.IconifyIcon;
const { loadFont } = globalThis.RemotionGoogleFonts;
const { Rocket } = globalThis.LucideIcons;
const { StarIcon } = globalThis.HeroiconsSolid;
const { fontFamily } = loadFont('Poppins');
// Icon data given to Iconify locally: no API lookup, rendered at once.
addIcon('local:box', { body: '<rect x="2" y="2" width="20" height="20" fill="currentColor"/>', width: 24, height: 24 });

const Show = ({ id }) => h('span', { 'data-testid': id }, String(useCurrentFrame()));

export default function Scene() {
  const frame = useCurrentFrame();
  const { fps } = useVideoConfig();
  const s = spring({ frame, fps });
  const bg = interpolateColors(frame, [0, 60], ['#0f172a', '#312e81']);
  return h(AbsoluteFill, { style: { background: bg, fontFamily, color: 'white', padding: 80, gap: 30 } },
    h('h1', { id: 'font', style: { fontSize: 80, margin: 0 } }, 'Kitchen sink ' + frame),
    h('div', { style: { display: 'flex', gap: 40, alignItems: 'center', transform: 'scale(' + s + ')' } },
      h(Circle, { radius: 80, fill: '#f472b6' }),
      h(Star, { points: 5, innerRadius: 40, outerRadius: 90, fill: '#facc15' }),
      h(Rect, { width: 160, height: 120, cornerRadius: 20, fill: '#34d399' }),
      h(Triangle, { length: 150, direction: 'up', fill: '#60a5fa' }),
      h(Ellipse, { rx: 90, ry: 50, fill: '#a78bfa', stroke: 'white', strokeWidth: 6 }),
      h(Icon, { icon: 'local:box', width: 120, color: '#fb923c', id: 'icon-local' }),
      h(Icon, { icon: 'mdi:definitely-not-an-icon', width: 120, color: '#e879f9', id: 'icon-offline' }),
      h(Rocket, { size: 120, color: '#22d3ee' }),
      h(StarIcon, { width: 120, color: '#fde047', style: { color: '#fde047' } })),
    h('div', { style: { fontSize: 40 } },
      h(Series, null,
        h(Series.Sequence, { durationInFrames: 20, layout: 'none' }, h(Show, { id: 'series-a' })),
        h(Series.Sequence, { durationInFrames: 30, offset: 5, layout: 'none' }, h(Show, { id: 'series-b' }))),
      h(Loop, { durationInFrames: 15, layout: 'none' }, h(Show, { id: 'loop' })),
      h(Sequence, { from: 40, layout: 'none' }, h(Freeze, { frame: 7 }, h(Show, { id: 'frozen' }))),
      h('span', { 'data-testid': 'spring' }, s.toFixed(4))));
}
"""

TRANSITION_SCENE = """
const React = globalThis.React;
const h = React.createElement;
const { AbsoluteFill, useCurrentFrame } = globalThis.Remotion;
const { TransitionSeries, linearTiming } = globalThis.RemotionTransitions;
const { fade } = globalThis.RemotionTransitions;
const Part = ({ id, color }) => h(AbsoluteFill, { style: { background: color } },
  h('span', { 'data-testid': id, style: { fontSize: 80, color: 'white' } }, id + ' ' + useCurrentFrame()));
export default function Scene() {
  return h(TransitionSeries, null,
    h(TransitionSeries.Sequence, { durationInFrames: 30 }, h(Part, { id: 'a', color: '#991b1b' })),
    h(TransitionSeries.Transition, { presentation: fade(), timing: linearTiming({ durationInFrames: 10 }) }),
    h(TransitionSeries.Sequence, { durationInFrames: 30 }, h(Part, { id: 'b', color: '#1e40af' })));
}
"""
