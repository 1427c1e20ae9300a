// Remotion's random(): mulberry32 seeded by a number or a string hash, so a scene's
// "random" layout is the same on every render and in every browser.

function mulberry32(a) {
  let t = a + 0x6d2b79f5;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function hashCode(str) {
  let hash = 0;
  for (let i = 0; i < str.length; i++) {
    hash = (hash << 5) - hash + str.charCodeAt(i);
    hash |= 0;
  }
  return hash;
}

export function random(seed, dummy) {
  if (dummy !== undefined) throw new TypeError('random() takes only one argument');
  if (seed === null) return Math.random();
  if (typeof seed === 'string') return mulberry32(hashCode(seed));
  if (typeof seed === 'number') return mulberry32(seed * 10000000000);
  throw new Error('random() argument must be a number or a string');
}
