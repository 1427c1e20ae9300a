// RemotionShapes: @remotion/shapes-compatible SVG shapes. make*() return {path, width, height,
// transformOrigin}; the components render that path in an <svg> sized to the shape.
import React from 'react';

const round = (n) => Math.round(n * 1000) / 1000;

// A closed polygon path; corners are rounded with quadratic curves through each vertex.
function polygonPath(points, cornerRadius = 0) {
  if (!cornerRadius) {
    return `${points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'} ${round(x)} ${round(y)}`).join(' ')} Z`;
  }
  const n = points.length;
  const parts = [];
  for (let i = 0; i < n; i++) {
    const prev = points[(i - 1 + n) % n];
    const cur = points[i];
    const next = points[(i + 1) % n];
    const toward = (from, to) => {
      const dx = to[0] - from[0];
      const dy = to[1] - from[1];
      const len = Math.hypot(dx, dy) || 1;
      const r = Math.min(cornerRadius, len / 2);
      return [from[0] + (dx / len) * r, from[1] + (dy / len) * r];
    };
    const a = toward(cur, prev);
    const b = toward(cur, next);
    parts.push(`${i === 0 ? 'M' : 'L'} ${round(a[0])} ${round(a[1])}`);
    parts.push(`Q ${round(cur[0])} ${round(cur[1])} ${round(b[0])} ${round(b[1])}`);
  }
  return `${parts.join(' ')} Z`;
}

function shape(path, width, height) {
  return { path, width, height, transformOrigin: `${round(width / 2)} ${round(height / 2)}`, instructions: [] };
}

export function makeCircle({ radius }) {
  const r = radius;
  return shape(`M ${r} 0 A ${r} ${r} 0 1 1 ${r} ${2 * r} A ${r} ${r} 0 1 1 ${r} 0 Z`, 2 * r, 2 * r);
}

export function makeEllipse({ rx, ry }) {
  return shape(`M ${rx} 0 A ${rx} ${ry} 0 1 1 ${rx} ${2 * ry} A ${rx} ${ry} 0 1 1 ${rx} 0 Z`, 2 * rx, 2 * ry);
}

export function makeRect({ width, height, cornerRadius = 0 }) {
  const points = [[0, 0], [width, 0], [width, height], [0, height]];
  if (!cornerRadius) return shape(polygonPath(points), width, height);
  const r = Math.min(cornerRadius, width / 2, height / 2);
  const path = [
    `M ${r} 0`, `L ${width - r} 0`, `A ${r} ${r} 0 0 1 ${width} ${r}`, `L ${width} ${height - r}`,
    `A ${r} ${r} 0 0 1 ${width - r} ${height}`, `L ${r} ${height}`, `A ${r} ${r} 0 0 1 0 ${height - r}`,
    `L 0 ${r}`, `A ${r} ${r} 0 0 1 ${r} 0`, 'Z',
  ].join(' ');
  return shape(path, width, height);
}

export function makeTriangle({ length, direction = 'right', cornerRadius = 0 }) {
  const h = (length * Math.sqrt(3)) / 2;
  const byDirection = {
    up: [[[length / 2, 0], [length, h], [0, h]], length, h],
    down: [[[0, 0], [length, 0], [length / 2, h]], length, h],
    left: [[[h, 0], [h, length], [0, length / 2]], h, length],
    right: [[[0, 0], [h, length / 2], [0, length]], h, length],
  };
  const spec = byDirection[direction];
  if (!spec) throw new TypeError(`direction must be one of up, down, left, right, but got ${direction}`);
  const [points, width, height] = spec;
  return shape(polygonPath(points, cornerRadius), width, height);
}

export function makeStar({ points = 5, innerRadius, outerRadius, cornerRadius = 0 }) {
  const vertices = [];
  for (let i = 0; i < points * 2; i++) {
    const r = i % 2 === 0 ? outerRadius : innerRadius;
    const angle = (i * Math.PI) / points - Math.PI / 2;
    vertices.push([outerRadius + r * Math.cos(angle), outerRadius + r * Math.sin(angle)]);
  }
  return shape(polygonPath(vertices, cornerRadius), outerRadius * 2, outerRadius * 2);
}

export function makePolygon({ points, radius, cornerRadius = 0 }) {
  if (!(points >= 3)) throw new TypeError(`"points" should be at least 3, but got ${points}`);
  const vertices = [];
  for (let i = 0; i < points; i++) {
    const angle = (i * 2 * Math.PI) / points - Math.PI / 2;
    vertices.push([radius + radius * Math.cos(angle), radius + radius * Math.sin(angle)]);
  }
  return shape(polygonPath(vertices, cornerRadius), radius * 2, radius * 2);
}

export function makePie({ radius, progress, closePath = true, counterClockwise = false, rotation = 0 }) {
  const p = Math.max(0, Math.min(1, progress));
  const sign = counterClockwise ? -1 : 1;
  const start = rotation - Math.PI / 2;
  const end = start + sign * p * 2 * Math.PI;
  const at = (a) => [round(radius + radius * Math.cos(a)), round(radius + radius * Math.sin(a))];
  let path;
  if (p >= 1) {
    path = makeCircle({ radius }).path;
  } else if (p <= 0) {
    path = closePath ? `M ${radius} ${radius} Z` : '';
  } else {
    const [sx, sy] = at(start);
    const [ex, ey] = at(end);
    const large = p > 0.5 ? 1 : 0;
    const sweep = counterClockwise ? 0 : 1;
    path = `M ${sx} ${sy} A ${radius} ${radius} 0 ${large} ${sweep} ${ex} ${ey}`;
    if (closePath) path += ` L ${radius} ${radius} Z`;
  }
  return shape(path, radius * 2, radius * 2);
}

function RenderSvg({ width, height, path, style, pathStyle, transformOrigin, debug, instructions, ...props }) {
  return (
    <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} xmlns="http://www.w3.org/2000/svg" style={{ overflow: 'visible', ...style }}>
      <path transform-origin={transformOrigin} d={path} style={{ transformBox: 'fill-box', ...pathStyle }} {...props} />
    </svg>
  );
}

function shapeComponent(make, keys, displayName) {
  const C = (props) => {
    const params = {};
    const rest = {};
    for (const [k, v] of Object.entries(props)) (keys.includes(k) ? params : rest)[k] = v;
    return <RenderSvg {...make(params)} {...rest} />;
  };
  C.displayName = displayName;
  return C;
}

export const Circle = shapeComponent(makeCircle, ['radius'], 'Circle');
export const Ellipse = shapeComponent(makeEllipse, ['rx', 'ry'], 'Ellipse');
export const Rect = shapeComponent(makeRect, ['width', 'height', 'cornerRadius', 'edgeRoundness'], 'Rect');
export const Triangle = shapeComponent(makeTriangle, ['length', 'direction', 'cornerRadius', 'edgeRoundness'], 'Triangle');
export const Star = shapeComponent(makeStar, ['points', 'innerRadius', 'outerRadius', 'cornerRadius', 'edgeRoundness'], 'Star');
export const Polygon = shapeComponent(makePolygon, ['points', 'radius', 'cornerRadius', 'edgeRoundness'], 'Polygon');
export const Pie = shapeComponent(makePie, ['radius', 'progress', 'closePath', 'counterClockwise', 'rotation'], 'Pie');
