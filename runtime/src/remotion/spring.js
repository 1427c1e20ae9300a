// Remotion's spring(): a damped harmonic oscillator stepped frame by frame (so results match
// real Remotion to the last digit, including its 64 ms step cap), plus measureSpring().
import { interpolate } from './interpolate.js';

const DEFAULT_CONFIG = { damping: 10, mass: 1, stiffness: 100, overshootClamping: false };

function advance(state, now, config) {
  const { toValue, lastTimestamp, current, velocity } = state;
  const dt = Math.min(now - lastTimestamp, 64);
  if (config.damping <= 0) {
    throw new Error(
      'Spring damping must be greater than 0, otherwise the spring() animation will never end, causing an infinite loop.',
    );
  }
  const c = config.damping;
  const m = config.mass;
  const k = config.stiffness;
  const v0 = -velocity;
  const x0 = toValue - current;
  const zeta = c / (2 * Math.sqrt(k * m));
  const omega0 = Math.sqrt(k / m);
  const omega1 = omega0 * Math.sqrt(1 - zeta ** 2);
  const t = dt / 1000;
  const sin1 = Math.sin(omega1 * t);
  const cos1 = Math.cos(omega1 * t);

  const underEnvelope = Math.exp(-zeta * omega0 * t);
  const underFrag = underEnvelope * (sin1 * ((v0 + zeta * omega0 * x0) / omega1) + x0 * cos1);
  const underPosition = toValue - underFrag;
  const underVelocity =
    zeta * omega0 * underFrag - underEnvelope * (cos1 * (v0 + zeta * omega0 * x0) - omega1 * x0 * sin1);

  const critEnvelope = Math.exp(-omega0 * t);
  const critPosition = toValue - critEnvelope * (x0 + (v0 + omega0 * x0) * t);
  const critVelocity = critEnvelope * (v0 * (t * omega0 - 1) + t * x0 * omega0 * omega0);

  return {
    toValue,
    prevPosition: current,
    lastTimestamp: now,
    current: zeta < 1 ? underPosition : critPosition,
    velocity: zeta < 1 ? underVelocity : critVelocity,
  };
}

// Scenes call spring() for every element on every frame; each call replays the simulation
// from frame 0, so results are memoized like Remotion does.
const cache = new Map();
const CACHE_LIMIT = 20000;

function springCalculation({ frame, fps, config = {} }) {
  const key = [frame, fps, config.damping, config.mass, config.overshootClamping, config.stiffness].join('-');
  const hit = cache.get(key);
  if (hit) return hit;
  const merged = { ...DEFAULT_CONFIG, ...config };
  let state = { lastTimestamp: 0, current: 0, toValue: 1, velocity: 0, prevPosition: 0 };
  const clamped = Math.max(0, frame);
  const whole = Math.floor(clamped);
  const rest = clamped % 1;
  for (let f = 0; f <= whole; f++) {
    const at = f === whole ? f + rest : f;
    state = advance(state, (at / fps) * 1000, merged);
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, state);
  return state;
}

function validateFps(fps, where) {
  if (typeof fps !== 'number' || !Number.isFinite(fps) || fps <= 0) {
    throw new TypeError(`"fps" must be a positive number ${where}, but got ${fps}`);
  }
}

export function measureSpring({ fps, config = {}, threshold = 0.005 }) {
  if (typeof threshold !== 'number') throw new TypeError('threshold must be a number');
  if (threshold === 0) throw new Error('Threshold is zero. The spring would never settle.');
  if (threshold < 0) throw new Error('Threshold is below zero');
  validateFps(fps, 'passed to measureSpring()');
  let frame = 0;
  const diff = () => Math.abs(springCalculation({ fps, frame, config }).current - 1);
  while (diff() >= threshold) frame++;
  // A bouncy spring dips under the threshold before it settles: it must stay there 20 frames.
  let finished = frame;
  for (let i = 0; i < 20; i++) {
    frame++;
    if (diff() >= threshold) {
      i = 0;
      finished = frame + 1;
    }
  }
  return finished;
}

export function spring({
  frame,
  fps,
  config = {},
  from = 0,
  to = 1,
  durationInFrames,
  durationRestThreshold,
  delay = 0,
  reverse = false,
}) {
  if (typeof frame !== 'number' || Number.isNaN(frame)) {
    throw new TypeError(`"frame" must be a number passed to spring(), but got ${frame}`);
  }
  validateFps(fps, 'passed to spring()');
  if (durationInFrames !== undefined && (typeof durationInFrames !== 'number' || durationInFrames <= 0)) {
    throw new TypeError(`durationInFrames must be a positive number, but got ${durationInFrames}`);
  }
  const needsNatural = reverse || durationInFrames !== undefined;
  const natural = needsNatural ? measureSpring({ fps, config, threshold: durationRestThreshold }) : 0;
  const reversed = reverse ? (durationInFrames ?? natural) - frame : frame;
  const delayed = reversed + (reverse ? delay : -delay);
  const stretched = durationInFrames === undefined ? delayed : delayed / (durationInFrames / natural);
  if (durationInFrames && delayed > durationInFrames) return to;
  const current = springCalculation({ fps, frame: stretched, config }).current;
  // Clamped in normalized space, where `to` is always 1, so it holds for any from/to.
  const inner = config.overshootClamping ? Math.min(current, 1) : current;
  return from === 0 && to === 1 ? inner : interpolate(inner, [0, 1], [from, to]);
}
