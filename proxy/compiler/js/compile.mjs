// One scene in, one ES module out. Pure function of (source, config): no filesystem, no network.
//
// esbuild bundles the scene with a plugin that sees every import; anything not in the import map
// is a compile error. Host packages are globals the page already has: each plain host import goes
// out as an external `__host__:N` (N indexes this build's table of global expressions), and the
// import statements esbuild prints where the scene's code starts become plain bindings
// (`const { a } = globalThis.Remotion ?? {}`). They are not left to esbuild's CommonJS interop (a
// virtual `module.exports = globalThis.Remotion` per package): its __toESM defines a getter per
// property of the global on every import, thousands for LucideIcons, and in a browser that was
// most of the time it took to import a scene.
// A shape the rewrite does not cover (dynamic import, require, `export *`, the sentinel inside a
// string) leaves a `__host__:` behind, and the scene is rebuilt with interop for every host
// package, which takes any shape. The jsx runtime and @iconify/react need adapter modules, so they
// always go through interop.
// The rare shapes esbuild rejects (no default export, repeated `const { X } = window.Remotion`)
// take a slower path through @babel/parser and are rebuilt once.

import {
  DEEP_CHECK_BYTES, MAX_NESTING_DEPTH, MAX_PRETTY_DEPTH, ParseFailed, dedupeHostDestructurings, escapeSpecifierLookalikes, findSceneComponent, nestingDepth, overflowsParser,
} from './analyze.mjs';
import { decode, finish, followEdit } from './sourcemap.mjs';

const HOST_NS = 'host-global';
const PLUGIN_NAME = 'host-imports';
const SOURCEFILE = 'scene.tsx';
const HOST_EXTERNAL = '__host__:';
const OUTFILE = 'scene.js';

// Shapes some packages need beyond "the global is the module".
const ADAPTERS = {
  // The automatic JSX runtime, rebuilt on the host's classic React.
  jsx: (g) => `var R = ${g};
function jsx(type, props, key) {
  return key === undefined ? R.createElement(type, props) : R.createElement(type, Object.assign({}, props, { key: key }));
}
module.exports = { __esModule: true, jsx: jsx, jsxs: jsx, jsxDEV: jsx, Fragment: R.Fragment };`,
  // @iconify/react: the default export and the named `Icon` are the same component; the package's
  // other exports (addIcon, loadIcons, ...) are properties of it in the host runtime.
  component: (g) => `var C = ${g};
module.exports = Object.assign({}, C, { __esModule: true, default: C, Icon: C, InlineIcon: (C && C.InlineIcon) || C });`,
};
const ADAPTER_BY_SPECIFIER = {
  'react/jsx-runtime': 'jsx',
  'react/jsx-dev-runtime': 'jsx',
  '@iconify/react': 'component',
};

const URL_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const DEFAULT_EXPORT_RE = /\bexport\s+default\b|\bas\s+default\b/;
const REDECLARED_RE = /has already been declared/;

// What a `prefix/*` entry may cover: plain package subpaths, no `..`, no odd characters.
const SUBPATH_RE = /^(?!\.\.?(?:\/|$))[\w@+-][\w@.+-]*(?:\/(?!\.\.?(?:\/|$))[\w@.+-]+)*$/;

export function lookupSpecifier(importMap, specifier) {
  if (Object.hasOwn(importMap, specifier)) return importMap[specifier];
  // `prefix/*` entries cover every deeper path; the longest prefix wins.
  let best = null;
  for (const key of Object.keys(importMap)) {
    if (!key.endsWith('/*')) continue;
    const prefix = key.slice(0, -1);
    if (!specifier.startsWith(prefix) || !SUBPATH_RE.test(specifier.slice(prefix.length))) continue;
    if (best === null || key.length > best.length) {
      best = key;
    }
  }
  if (best === null) return null;
  const target = importMap[best];
  // `Global.*` binds each subpath to its own property (`@remotion/google-fonts/Roboto` ->
  // RemotionGoogleFonts["Roboto"]), so per-font modules keep their font; JSON keeps it a string key.
  if (!target.endsWith('.*')) return target;
  return `${target.slice(0, -2)}[${JSON.stringify(specifier.slice(best.length - 1))}]`;
}

function importRefusal(specifier, known) {
  if (/^[./]/.test(specifier)) return `Cannot import "${specifier}": a scene is one file and cannot import files`;
  if (URL_RE.test(specifier)) return `Cannot import "${specifier}": URL imports are not allowed`;
  return `Cannot import "${specifier}": not available to scenes (host packages: ${known})`;
}

// `hostTable` null: every host package is a virtual CommonJS module (the fallback). An array: plain
// host packages become `__host__:N` externals, N indexing the global expressions collected there.
function hostPlugin(importMap, known, hostTable) {
  return {
    name: PLUGIN_NAME,
    setup(build) {
      // Every resolve ends here, so esbuild never looks at the disk.
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.namespace === HOST_NS) {
          return { errors: [{ text: `host module cannot import "${args.path}"` }] };
        }
        const target = lookupSpecifier(importMap, args.path);
        if (target === null) return { errors: [{ text: importRefusal(args.path, known) }] };
        if (URL_RE.test(target)) return { path: target, external: true };
        if (hostTable !== null && !Object.hasOwn(ADAPTER_BY_SPECIFIER, args.path)) {
          const global = `globalThis.${target}`;
          let n = hostTable.indexOf(global);
          if (n < 0) n = hostTable.push(global) - 1;
          return { path: `${HOST_EXTERNAL}${n}`, external: true };
        }
        return { path: args.path, namespace: HOST_NS, pluginData: target };
      });
      build.onLoad({ filter: /.*/, namespace: HOST_NS }, (args) => {
        const global = `globalThis.${args.pluginData}`;
        const adapter = ADAPTER_BY_SPECIFIER[args.path];
        const contents = adapter ? ADAPTERS[adapter](global) : `module.exports = ${global};`;
        return { contents, loader: 'js' };
      });
    },
  };
}

// What esbuild prints where the scene's code starts, and the import statements it prints there.
// Its output is canonical (one statement a line, double quotes), so these need not be general.
const SCENE_START = `// ${SOURCEFILE}\n`;
const ID = '[A-Za-z_$][\\w$]*';
const HOST_IMPORT_RE = new RegExp(
  `import(?:\\s+(${ID})\\s*(,)?)?\\s*(?:\\*\\s*as\\s+(${ID})|\\{([^}]*)\\})?\\s*(from)?\\s*"__host__:(\\d+)";\\n`, 'y');
const IMPORT_NAME_RE = new RegExp(`^(${ID})(?:\\s+as\\s+(${ID}))?$`);
// An adapter import (esbuild's interop) between host imports; left as it is.
const ADAPTER_IMPORT_RE = /var import_[\w$]+ = __toESM\(require_[\w$]+\(\)\);\n/y;
const HOST_DEFAULT = '__hostDefault';
// Our bindings name `globalThis`, which esbuild does not know about, so it would not rename a scene's
// own top-level `globalThis` out of their way. A binding is never followed by `.`; every other use is.
const GLOBAL_THIS_NOT_MEMBER_RE = /\bglobalThis\b(?!\s*\.)/;
// esbuild's __toESM gives `default = module` unless the module says `__esModule`; so does this.
const HOST_DEFAULT_FN = `const ${HOST_DEFAULT} = (m) => (m != null && m.__esModule ? m.default : m);`;

/** One printed import as `const` lines; null when a name is not a plain identifier (or N is unknown). */
function hostBindings(match, hostTable) {
  const [, def, comma, ns, names, from, n] = match;
  const global = hostTable[Number(n)];
  const hasClause = def !== undefined || ns !== undefined || names !== undefined;
  if (global === undefined || hasClause !== (from !== undefined)) return null;
  if ((comma !== undefined) !== (def !== undefined && (ns !== undefined || names !== undefined))) return null;
  const defaults = def === undefined ? [] : [def];
  const props = [];
  for (const part of names === undefined ? [] : names.split(',')) {
    const name = part.trim();
    if (name === '') continue;
    const m = IMPORT_NAME_RE.exec(name);
    if (m === null) return null;
    const [, imported, local = imported] = m;
    if (imported === 'default') defaults.push(local);
    else props.push(imported === local ? local : `${imported}: ${local}`);
  }
  const lines = defaults.map((d) => `const ${d} = ${HOST_DEFAULT}(${global});`);
  if (props.length > 0) lines.push(`const { ${props.join(', ')} } = ${global} ?? {};`);
  // Documented difference from the fallback: the namespace is the global itself, no synthesized `default`.
  if (ns !== undefined) lines.push(`const ${ns} = ${global} ?? {};`);
  return { lines, usesDefault: defaults.length > 0 };
}

/**
 * Bind the scene's leading `import ... from "__host__:N"` statements to their globals. `?? {}`
 * keeps a missing global lazy, as the fallback is: undefined bindings that fail at render, not a
 * module that throws on import. Null when any `__host__:` is left, or when a name we use
 * (`__hostDefault`, `globalThis`) may be the scene's own.
 */
export function bindHostImports(code, hostTable) {
  if (code.includes(HOST_DEFAULT) || GLOBAL_THIS_NOT_MEMBER_RE.test(code)) return null;
  // Before the scene's code come only esbuild's helpers and the adapter modules, never scene text.
  const at = code.startsWith(SCENE_START) ? 0 : code.indexOf(`\n${SCENE_START}`) + 1;
  if (at === 0 && !code.startsWith(SCENE_START)) return null;
  const start = at + SCENE_START.length;
  const lines = [];
  let usesDefault = false;
  let end = start;
  for (let pos = start; ; ) {
    while (code[pos] === '\n') pos++;
    ADAPTER_IMPORT_RE.lastIndex = pos;
    const adapter = ADAPTER_IMPORT_RE.exec(code);
    if (adapter !== null) {
      lines.push(adapter[0].slice(0, -1));
      end = pos = ADAPTER_IMPORT_RE.lastIndex;
      continue;
    }
    HOST_IMPORT_RE.lastIndex = pos;
    const host = HOST_IMPORT_RE.exec(code);
    const bound = host === null ? null : hostBindings(host, hostTable);
    if (bound === null) break;
    lines.push(...bound.lines);
    usesDefault ||= bound.usesDefault;
    end = pos = HOST_IMPORT_RE.lastIndex;
  }
  if (usesDefault) lines.unshift(HOST_DEFAULT_FN);
  const out = code.slice(0, start) + lines.map((l) => `${l}\n`).join('') + code.slice(end);
  return out.includes(HOST_EXTERNAL) ? null : out;
}

export class SceneError extends Error {
  constructor(message, kind, line = 0, column = 0, lineText = '') {
    super(message);
    this.kind = kind;
    this.line = line;
    this.column = column;
    this.lineText = lineText;
  }
}

function firstLine(source) {
  return source.split(/\r\n|\r|\n/, 1)[0];
}

// esbuild columns are 0-based UTF-8 byte offsets; editors (and JS tooling) count UTF-16 units from 1.
function utf16Column(lineText, byteColumn) {
  return Buffer.from(lineText, 'utf8').subarray(0, byteColumn).toString('utf8').length + 1;
}

function toSceneError(message, source) {
  const loc = message.location;
  const kind = message.pluginName === PLUGIN_NAME ? 'import' : 'syntax';
  if (!loc) return new SceneError(message.text, kind);
  // lineText comes from the text esbuild parsed, which may be our rewritten source: report the original line.
  const lineText = source.split(/\r\n|\r|\n/)[loc.line - 1] ?? loc.lineText;
  return new SceneError(message.text, kind, loc.line, utf16Column(loc.lineText, loc.column), lineText);
}

export class SceneCompiler {
  constructor(esbuild, config, limits = {}) {
    this.esbuild = esbuild;
    this.config = config;
    this.limits = { maxArtifactBytes: 0, ...limits }; // 0: unlimited (the harness); not an output option
    this.knownSpecifiers = Object.keys(config.importMap).sort().join(', ');
    this.hostGlobals = new Set(Object.values(config.importMap).filter((v) => !URL_RE.test(v)).map((v) => v.split('.')[0]));
    this.options = {
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      target: config.target,
      jsx: 'transform',
      jsxFactory: config.jsxFactory,
      jsxFragment: config.jsxFragment,
      charset: 'ascii',
      legalComments: 'none',
      logLevel: 'silent',
      metafile: true,
      absWorkingDir: config.workDir,
      // Keep every value import (no TS elision) so an unusable import is always reported.
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
      // The map goes beside the module (its name is the artifact's, so Python adds the comment);
      // `outfile` only names the outputs: nothing is written.
      ...(config.sourceMaps ? { sourcemap: 'external', sourcesContent: false, outfile: OUTFILE } : {}),
    };
  }

  /** Build with host imports bound to their globals; any shape that cannot be, the fallback way. */
  async build(contents, layout) {
    const hostTable = [];
    const bound = await this.buildWith(contents, hostTable, layout);
    // No host import went out as `__host__:N`: esbuild saw exactly what the fallback would show it.
    if (hostTable.length === 0) return bound;
    if (bound.ok) {
      const code = bindHostImports(bound.code, hostTable);
      if (code !== null) return { ...bound, code, mappings: bound.mappings && followEdit(bound.mappings, bound.code, code) };
    }
    // Failures too: the fallback's errors are the ones to report (it accepts a few more shapes).
    return this.buildWith(contents, null, layout);
  }

  async buildWith(contents, hostTable, layout) {
    try {
      const result = await this.esbuild.build({
        ...this.options,
        ...layout,
        plugins: [hostPlugin(this.config.importMap, this.knownSpecifiers, hostTable)],
        stdin: { contents, loader: 'tsx', sourcefile: SOURCEFILE },
      });
      const out = Object.entries(result.metafile.outputs).find(([path]) => !path.endsWith('.map'))[1];
      const js = result.outputFiles.find((f) => !f.path.endsWith('.map'));
      const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
      const raw = map ? JSON.parse(map.text) : null;
      return {
        ok: true, code: js.text, hasDefault: out.exports.includes('default'),
        rawMap: raw, mappings: raw ? decode(raw.mappings) : null,
      };
    } catch (e) {
      if (!Array.isArray(e.errors) || e.errors.length === 0) throw e;
      return { ok: false, errors: e.errors };
    }
  }

  /** Build; on a redeclaration, drop repeated host-global destructurings and build once more. */
  async buildDeduped(contents, layout) {
    const result = await this.build(contents, layout);
    if (!result.ok && result.errors.some((m) => REDECLARED_RE.test(m.text))) {
      const deduped = dedupeHostDestructurings(contents, this.hostGlobals);
      if (deduped !== contents) return this.build(deduped, layout);
    }
    return result;
  }

  /**
   * The module for `source` and, with `sourceMaps` on, its source map (JSON text naming the scene
   * `sourceName`; else null). A SceneError when the scene is at fault, including output over the limit.
   */
  async compileWithMap(source, sourceName = SOURCEFILE) {
    const built = await this.compileUnbounded(source);
    const code = escapeSpecifierLookalikes(built.code);
    const limit = this.limits.maxArtifactBytes;
    if (limit > 0 && code.length > limit) { // charset ascii: one byte per character
      throw new SceneError(`compiled module is too large: ${code.length} bytes (limit ${limit} bytes)`, 'too-large');
    }
    if (!built.rawMap) return { code, map: null };
    const mappings = followEdit(built.mappings, built.code, code);
    return { code, map: JSON.stringify(finish(built.rawMap, mappings, SOURCEFILE, sourceName, source)) };
  }

  /** The module alone (the harness and the tests of the module's text). */
  async compile(source) {
    return (await this.compileWithMap(source)).code;
  }

  async compileUnbounded(source) {
    const nesting = nestingDepth(source);
    if (nesting.depth > MAX_NESTING_DEPTH) {
      const lines = source.slice(0, nesting.offset).split(/\r\n|\r|\n/);
      const lineText = source.split(/\r\n|\r|\n/)[lines.length - 1] ?? '';
      throw new SceneError(`brackets are nested more than ${MAX_NESTING_DEPTH} levels deep`, 'syntax',
        lines.length, lines[lines.length - 1].length + 1, lineText.slice(0, 500));
    }
    if (source.length > DEEP_CHECK_BYTES && overflowsParser(source)) {
      throw new SceneError('expressions are nested too deeply (thousands of levels)', 'syntax', 1, 1, firstLine(source));
    }
    // Deeply nested input is printed without whitespace, so output grows linearly with the input.
    const layout = nesting.depth > MAX_PRETTY_DEPTH ? { minifyWhitespace: true } : undefined;
    // Most scenes say `export default`: one build. The text test can be fooled by a string, never missed.
    const first = DEFAULT_EXPORT_RE.test(source) ? await this.buildDeduped(source, layout) : null;
    if (first?.ok && first.hasDefault) return first;
    if (first && !first.ok) throw toSceneError(first.errors[0], source);

    const name = this.sceneComponentName(source);
    let appended = null;
    if (name !== null) {
      const sep = source.endsWith('\n') ? '' : '\n';
      appended = await this.buildDeduped(`${source}${sep}export default ${name};\n`, layout);
      if (appended.ok && appended.hasDefault) return appended;
    }
    // Report errors against the scene as written, not against the line we appended.
    const plain = first ?? (await this.buildDeduped(source, layout));
    if (!plain.ok) throw toSceneError(plain.errors[0], source);
    if (appended && !appended.ok) throw toSceneError(appended.errors[0], source);
    throw new SceneError('scene has no default export', 'no-default-export', 1, 1, firstLine(source));
  }

  sceneComponentName(contents) {
    try {
      return findSceneComponent(contents);
    } catch (e) {
      if (e instanceof ParseFailed) return null;
      throw e;
    }
  }
}
