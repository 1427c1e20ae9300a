// Remotion's Easing is React Native's Animated.Easing; these follow the same formulas so
// scenes tuned against real Remotion look the same here.

const NEWTON_ITERATIONS = 4;
const NEWTON_MIN_SLOPE = 0.001;
const SUBDIVISION_PRECISION = 0.0000001;
const SUBDIVISION_MAX_ITERATIONS = 10;
const SPLINE_TABLE_SIZE = 11;
const SAMPLE_STEP = 1 / (SPLINE_TABLE_SIZE - 1);

const coefA = (a1, a2) => 1 - 3 * a2 + 3 * a1;
const coefB = (a1, a2) => 3 * a2 - 6 * a1;
const coefC = (a1) => 3 * a1;
const calcBezier = (t, a1, a2) => ((coefA(a1, a2) * t + coefB(a1, a2)) * t + coefC(a1)) * t;
const slopeAt = (t, a1, a2) => 3 * coefA(a1, a2) * t * t + 2 * coefB(a1, a2) * t + coefC(a1);

function binarySubdivide(x, lo, hi, x1, x2) {
  let t = 0;
  let currentX = 0;
  let i = 0;
  do {
    t = lo + (hi - lo) / 2;
    currentX = calcBezier(t, x1, x2) - x;
    if (currentX > 0) hi = t;
    else lo = t;
  } while (Math.abs(currentX) > SUBDIVISION_PRECISION && ++i < SUBDIVISION_MAX_ITERATIONS);
  return t;
}

function newtonRaphson(x, guess, x1, x2) {
  let t = guess;
  for (let i = 0; i < NEWTON_ITERATIONS; i++) {
    const slope = slopeAt(t, x1, x2);
    if (slope === 0) return t;
    t -= (calcBezier(t, x1, x2) - x) / slope;
  }
  return t;
}

// Cubic bezier timing function, the same algorithm as CSS / bezier-easing.
export function bezier(x1, y1, x2, y2) {
  if (!(x1 >= 0 && x1 <= 1 && x2 >= 0 && x2 <= 1)) {
    throw new Error('bezier x values must be in [0, 1] range');
  }
  if (x1 === y1 && x2 === y2) return (t) => t;
  const samples = new Float32Array(SPLINE_TABLE_SIZE);
  for (let i = 0; i < SPLINE_TABLE_SIZE; i++) samples[i] = calcBezier(i * SAMPLE_STEP, x1, x2);

  const tForX = (x) => {
    let start = 0;
    let sample = 1;
    const last = SPLINE_TABLE_SIZE - 1;
    for (; sample !== last && samples[sample] <= x; sample++) start += SAMPLE_STEP;
    sample--;
    const dist = (x - samples[sample]) / (samples[sample + 1] - samples[sample]);
    const guess = start + dist * SAMPLE_STEP;
    const slope = slopeAt(guess, x1, x2);
    if (slope >= NEWTON_MIN_SLOPE) return newtonRaphson(x, guess, x1, x2);
    if (slope === 0) return guess;
    return binarySubdivide(x, start, start + SAMPLE_STEP, x1, x2);
  };
  return (x) => {
    if (x === 0 || x === 1) return x;
    return calcBezier(tForX(x), y1, y2);
  };
}

export const Easing = {
  step0: (n) => (n > 0 ? 1 : 0),
  step1: (n) => (n >= 1 ? 1 : 0),
  linear: (t) => t,
  ease: (t) => easeCurve(t),
  quad: (t) => t * t,
  cubic: (t) => t * t * t,
  poly: (n) => (t) => t ** n,
  sin: (t) => 1 - Math.cos((t * Math.PI) / 2),
  circle: (t) => 1 - Math.sqrt(1 - t * t),
  exp: (t) => 2 ** (10 * (t - 1)),
  elastic: (bounciness = 1) => {
    const p = bounciness * Math.PI;
    return (t) => 1 - Math.cos((t * Math.PI) / 2) ** 3 * Math.cos(t * p);
  },
  back: (s = 1.70158) => (t) => t * t * ((s + 1) * t - s),
  bounce: (t) => {
    if (t < 1 / 2.75) return 7.5625 * t * t;
    if (t < 2 / 2.75) {
      const u = t - 1.5 / 2.75;
      return 7.5625 * u * u + 0.75;
    }
    if (t < 2.5 / 2.75) {
      const u = t - 2.25 / 2.75;
      return 7.5625 * u * u + 0.9375;
    }
    const u = t - 2.625 / 2.75;
    return 7.5625 * u * u + 0.984375;
  },
  bezier: (x1, y1, x2, y2) => bezier(x1, y1, x2, y2),
  in: (easing) => easing,
  out: (easing) => (t) => 1 - easing(1 - t),
  inOut: (easing) => (t) => (t < 0.5 ? easing(t * 2) / 2 : 1 - easing((1 - t) * 2) / 2),
};

// React Native's (and so Remotion's) `ease` is bezier(0.42, 0, 1, 1), not the CSS `ease` curve.
const easeCurve = bezier(0.42, 0, 1, 1);
