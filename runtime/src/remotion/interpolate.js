// Remotion's interpolate(): piecewise-linear mapping with per-side extrapolation and easing.

function checkRange(name, range) {
  if (!Array.isArray(range) || range.length < 2) throw new Error(`${name} must have at least 2 elements`);
  for (const v of range) {
    if (typeof v !== 'number') throw new Error(`${name} must contain only numbers`);
    if (!Number.isFinite(v)) throw new Error(`${name} must contain only finite numbers, but got [${range.join(',')}]`);
  }
}

function checkIncreasing(range) {
  for (let i = 1; i < range.length; i++) {
    if (!(range[i] > range[i - 1])) {
      throw new Error(`inputRange must be strictly monotonically increasing but got [${range.join(',')}]`);
    }
  }
}

function extrapolate(value, edge, mode, min, max) {
  if (mode === 'clamp') return edge;
  if (mode === 'wrap') {
    const span = max - min;
    return ((((value - min) % span) + span) % span) + min;
  }
  return value; // 'extend'
}

function segment(input, [inMin, inMax], [outMin, outMax], options) {
  const { extrapolateLeft, extrapolateRight, easing } = options;
  let x = input;
  if (x < inMin) {
    if (extrapolateLeft === 'identity') return x;
    x = extrapolate(x, inMin, extrapolateLeft, inMin, inMax);
  }
  if (x > inMax) {
    if (extrapolateRight === 'identity') return x;
    x = extrapolate(x, inMax, extrapolateRight, inMin, inMax);
  }
  if (outMin === outMax) return outMin;
  const progress = easing((x - inMin) / (inMax - inMin));
  return progress * (outMax - outMin) + outMin;
}

function findSegment(input, inputRange) {
  let i = 1;
  for (; i < inputRange.length - 1; i++) if (inputRange[i] >= input) break;
  return i - 1;
}

export function interpolate(input, inputRange, outputRange, options) {
  if (typeof input === 'undefined') throw new Error('input can not be undefined');
  if (typeof inputRange === 'undefined') throw new Error('inputRange can not be undefined');
  if (typeof outputRange === 'undefined') throw new Error('outputRange can not be undefined');
  if (inputRange.length !== outputRange.length) {
    throw new Error(
      `inputRange (${inputRange.length}) and outputRange (${outputRange.length}) must have the same length`,
    );
  }
  checkRange('inputRange', inputRange);
  checkRange('outputRange', outputRange);
  checkIncreasing(inputRange);
  if (typeof input !== 'number') throw new TypeError('Cannot interpolate an input which is not a number');
  const opts = {
    easing: options?.easing ?? ((t) => t),
    extrapolateLeft: options?.extrapolateLeft ?? 'extend',
    extrapolateRight: options?.extrapolateRight ?? 'extend',
  };
  const i = findSegment(input, inputRange);
  return segment(input, [inputRange[i], inputRange[i + 1]], [outputRange[i], outputRange[i + 1]], opts);
}
