// RemotionGoogleFonts: loadFont() without the network. The family name is kept (so a font
// installed locally still wins) and backed by a system stack so text never goes invisible.

const FALLBACK_STACK = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const STYLES = new Set(['normal', 'italic']);

function familyStack(family) {
  return `"${family.replace(/["\\]/g, '')}", ${FALLBACK_STACK}`;
}

function makeLoader(defaultFamily) {
  // Accepts both this runtime's loadFont(family, opts) and the per-family package's
  // loadFont(style, opts) signature, where the first argument is 'normal' or 'italic'.
  return function loadFont(first, options) {
    const family = typeof first === 'string' && first && !STYLES.has(first) ? first : defaultFamily;
    return {
      fontFamily: familyStack(family),
      fonts: {},
      unicodeRanges: {},
      waitUntilDone: () => Promise.resolve(),
      options: options ?? {},
    };
  };
}

const base = {
  loadFont: makeLoader('Inter'),
  getAvailableFonts: () => [],
  getInfo: () => ({ fontFamily: 'Inter', importName: 'Inter', fonts: {}, subsets: [] }),
};

// `RemotionGoogleFonts.Roboto.loadFont()` works for any family, so an import map can bind
// `@remotion/google-fonts/<Family>` to `RemotionGoogleFonts.<Family>`.
export const RemotionGoogleFonts = new Proxy(base, {
  get(target, prop, receiver) {
    if (typeof prop !== 'string' || prop in target || !/^[A-Z]/.test(prop)) return Reflect.get(target, prop, receiver);
    const family = prop.replace(/([a-z0-9])([A-Z])/g, '$1 $2');
    const loadFont = makeLoader(family);
    return {
      loadFont,
      fontFamily: familyStack(family),
      getInfo: () => ({ fontFamily: family, importName: prop, fonts: {}, subsets: [] }),
    };
  },
});
