// One scene in, one ES module out. Pure function of (source, config): no filesystem, no network.
//
// esbuild bundles the scene with a plugin that sees every import. Host packages become tiny
// virtual CommonJS modules (`module.exports = globalThis.Remotion`), so esbuild's own interop
// makes default, named and namespace imports work; everything else is a compile error.
// The rare shapes esbuild rejects (no default export, repeated `const { X } = window.Remotion`)
// take a slower path through @babel/parser and are rebuilt once.

import { ParseFailed, dedupeHostDestructurings, escapeSpecifierLookalikes, findSceneComponent } from './analyze.mjs';

const HOST_NS = 'host-global';
const PLUGIN_NAME = 'host-imports';

// Shapes some packages need beyond "the global is the module".
const ADAPTERS = {
  // The automatic JSX runtime, rebuilt on the host's classic React.
  jsx: (g) => `var R = ${g};
function jsx(type, props, key) {
  return key === undefined ? R.createElement(type, props) : R.createElement(type, Object.assign({}, props, { key: key }));
}
module.exports = { __esModule: true, jsx: jsx, jsxs: jsx, jsxDEV: jsx, Fragment: R.Fragment };`,
  // @iconify/react: the default export and the named `Icon` are the same component.
  component: (g) => `var C = ${g};
module.exports = { __esModule: true, default: C, Icon: C, InlineIcon: C };`,
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

function hostPlugin(importMap) {
  const known = Object.keys(importMap).sort().join(', ');
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
  constructor(esbuild, config) {
    this.esbuild = esbuild;
    this.config = config;
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
      plugins: [hostPlugin(config.importMap)],
    };
  }

  async build(contents) {
    try {
      const result = await this.esbuild.build({
        ...this.options,
        stdin: { contents, loader: 'tsx', sourcefile: 'scene.tsx' },
      });
      const out = Object.values(result.metafile.outputs)[0];
      return { ok: true, code: result.outputFiles[0].text, hasDefault: out.exports.includes('default') };
    } catch (e) {
      if (!Array.isArray(e.errors) || e.errors.length === 0) throw e;
      return { ok: false, errors: e.errors };
    }
  }

  /** Build; on a redeclaration, drop repeated host-global destructurings and build once more. */
  async buildDeduped(contents) {
    const result = await this.build(contents);
    if (!result.ok && result.errors.some((m) => REDECLARED_RE.test(m.text))) {
      const deduped = dedupeHostDestructurings(contents, this.hostGlobals);
      if (deduped !== contents) return this.build(deduped);
    }
    return result;
  }

  async compile(source) {
    // Most scenes say `export default`: one build. The text test can be fooled by a string, never missed.
    const first = DEFAULT_EXPORT_RE.test(source) ? await this.buildDeduped(source) : null;
    if (first?.ok && first.hasDefault) return escapeSpecifierLookalikes(first.code);
    if (first && !first.ok) throw toSceneError(first.errors[0], source);

    const name = this.sceneComponentName(source);
    let appended = null;
    if (name !== null) {
      const sep = source.endsWith('\n') ? '' : '\n';
      appended = await this.buildDeduped(`${source}${sep}export default ${name};\n`);
      if (appended.ok && appended.hasDefault) return escapeSpecifierLookalikes(appended.code);
    }
    // Report errors against the scene as written, not against the line we appended.
    const plain = first ?? (await this.buildDeduped(source));
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
