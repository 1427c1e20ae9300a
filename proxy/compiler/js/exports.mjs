// The names a scene takes from the host runtime, checked against what the runtime really exports.
//
// runtime/build.mjs writes build/runtime/globals.json: for every global (and every per-module
// property such as `RemotionGoogleFonts["Inter"]`) the export names of the real package bound to
// it. A scene that imports a name the package does not have (`import { flipflop } from 'remotion'`,
// `const { flipflop } = window.Remotion`) would only fail when it renders; here it is a compile
// error naming it, with its line and column. Runs after a successful build, so syntax and
// import-refusal errors come first, and only where the answer is certain: a global or a module the
// manifest does not describe, a computed key, a default value or a rest element are left alone.

import { readFileSync } from 'node:fs';
import { parse } from '@babel/parser';

const GLOBAL_ROOTS = new Set(['window', 'globalThis', 'self']);
// Specifiers whose module the compiler builds itself from a global (the automatic JSX runtime).
const ADAPTED = new Set(['react/jsx-runtime', 'react/jsx-dev-runtime']);
const INDEXED_RE = /^([A-Za-z_$][\w$]*)\[("(?:[^"\\]|\\.)*")\]$/;

export class HostExports {
  /** `doc`: the parsed globals.json ({globals: {expr: [names]}, packages: {expr: "name@version"}}). */
  constructor(doc) {
    this.names = new Map(Object.entries(doc.globals ?? {}).map(([k, v]) => [k, new Set(v)]));
    this.packages = doc.packages ?? {};
  }

  static load(file) {
    return new HostExports(JSON.parse(readFileSync(file, 'utf8')));
  }

  /** Throws `makeError(message, line, column)` for the first name the runtime lacks; else returns. */
  check(source, importMap, lookupSpecifier, makeError) {
    // Most scenes are cleared by a text scan (~0.05 ms); only what it cannot clear is parsed (~2 ms).
    if (this.clearedByScan(source, importMap, lookupSpecifier)) return;
    let ast;
    try {
      ast = parse(source, { sourceType: 'module', plugins: ['typescript', 'jsx'], errorRecovery: true });
    } catch {
      return; // esbuild accepted it; a shape Babel cannot read is not ours to refuse
    }
    let problem;
    try {
      problem = this.firstProblem(ast.program, importMap, lookupSpecifier);
    } catch (e) {
      if (e instanceof RangeError) return; // nesting deeper than the stack: esbuild built it, let it be
      throw e;
    }
    if (problem !== null) {
      const { message, node } = problem;
      throw makeError(message, node.loc.start.line, node.loc.start.column + 1);
    }
  }

  /**
   * True when a scan of the text proves every name is there: each `import` is a plain import
   * statement whose names the manifest has, and each mention of a global is a destructuring whose
   * names it has, or a use that is no destructuring. Anything else (a name missing, a shape the scan
   * does not know, `import` in a string) is left to the parser, which alone reports errors.
   */
  clearedByScan(source, importMap, lookupSpecifier) {
    let imports = 0;
    for (const m of source.matchAll(IMPORT_STATEMENT_RE)) {
      imports++;
      const [, typeOnly, braces, , specifier] = m;
      if (typeOnly || braces === undefined || ADAPTED.has(specifier)) continue;
      const target = lookupSpecifier(importMap, specifier);
      if (target === null) continue;
      const indexed = INDEXED_RE.exec(target);
      if (indexed !== null && this.names.has(indexed[1]) && !this.names.has(target)) return false;
      const names = this.names.get(target);
      if (names === undefined) continue;
      for (const part of braces.split(',')) {
        const name = importedName(part);
        if (name === undefined) return false;
        if (name !== null && name !== 'default' && !names.has(name)) return false;
      }
    }
    if (imports !== (source.match(/\bimport\b/g) ?? []).length) return false;
    for (const m of source.matchAll(this.globalRe)) {
      // A window of text before the mention is enough for any destructuring a scene writes.
      const before = source.slice(Math.max(0, m.index - SCAN_WINDOW), m.index).replace(GLOBAL_ROOT_TAIL_RE, '');
      if (/[.?]\s*$/.test(before)) return false; // `(window as any).Remotion`: the parser knows
      if (!/[^=!<>]=\s*$/.test(before)) continue; // a use, not the right side of a declaration
      const lhs = before.replace(/=\s*$/, '').trimEnd();
      const member = /^\s*(?:\?\.|[.[(])/.test(source.slice(m.index + m[0].length, m.index + m[0].length + 8));
      if (!lhs.endsWith('}')) {
        if (/\}\s*:[^=;{}]*$/.test(lhs)) return false; // `const { x }: T = window.Remotion`
        if (/[\w$\]]$/.test(lhs)) continue; // `const R = window.Remotion`, `const [a] = React.useState()`
        return false;
      }
      if (member) return false; // `{ x } = window.Remotion.Easing`: the parser knows
      const open = lhs.lastIndexOf('{');
      if (open < 0) return false;
      const names = this.names.get(m[1]);
      for (const part of lhs.slice(open + 1, -1).split(',')) {
        const name = destructuredName(part);
        if (name === undefined) return false;
        if (name !== null && !names.has(name)) return false;
      }
    }
    return true;
  }

  get globalRe() {
    if (this._globalRe === undefined) {
      const roots = [...this.names.keys()].filter((k) => /^[A-Za-z_$][\w$]*$/.test(k)).sort((a, b) => b.length - a.length);
      this._globalRe = new RegExp(`(?<![\\w$])(${roots.join('|')})(?![\\w$])`, 'g');
    }
    return this._globalRe;
  }

  firstProblem(program, importMap, lookupSpecifier) {
    const topLevel = topLevelNames(program);
    for (const stmt of program.body) {
      if (stmt.type !== 'ImportDeclaration' || stmt.importKind === 'type') continue;
      const specifier = stmt.source.value;
      if (ADAPTED.has(specifier)) continue;
      const target = lookupSpecifier(importMap, specifier);
      if (target === null) continue;
      const indexed = INDEXED_RE.exec(target);
      if (indexed !== null && this.names.has(indexed[1]) && !this.names.has(target)) {
        return { node: stmt.source, message: `Cannot import "${specifier}": the host runtime does not include it` };
      }
      const names = this.names.get(target);
      if (names === undefined) continue;
      for (const s of stmt.specifiers) {
        if (s.type !== 'ImportSpecifier' || s.importKind === 'type') continue;
        const name = s.imported.type === 'Identifier' ? s.imported.name : s.imported.value;
        if (name !== 'default' && !names.has(name)) {
          return { node: s.imported, message: `"${name}" is not exported by "${specifier}" (${this.describe(target)})` };
        }
      }
    }
    for (const d of declarators(program)) {
      if (d.id.type !== 'ObjectPattern') continue;
      const found = this.globalOf(d.init, topLevel);
      if (found === null) continue;
      if (found.missing) {
        const { parent, node } = found.missing;
        return { node, message: `"${node.name ?? node.value}" is not a property of ${parent} (${this.describe(parent)})` };
      }
      const target = found.key;
      const names = this.names.get(target);
      for (const prop of d.id.properties) {
        if (prop.type !== 'ObjectProperty' || prop.computed || prop.value.type === 'AssignmentPattern') continue;
        const name = prop.key.type === 'Identifier' ? prop.key.name : prop.key.type === 'StringLiteral' ? prop.key.value : null;
        if (name !== null && !names.has(name)) {
          return { node: prop.key, message: `"${name}" is not a property of ${target} (${this.describe(target)})` };
        }
      }
    }
    return null;
  }

  /**
   * `window.Remotion`, `globalThis.RemotionGoogleFonts.Inter`, a free `Remotion`: `{key}` (the
   * manifest's), `{missing: {parent, node}}` for a module property the global lacks, else null.
   */
  globalOf(init, topLevel) {
    let node = unwrap(init);
    const path = [];
    const props = [];
    while (node && (node.type === 'MemberExpression' || node.type === 'OptionalMemberExpression')) {
      if (node.computed && node.property.type !== 'StringLiteral') return null;
      path.unshift(node.computed ? node.property.value : node.property.name);
      props.unshift(node.property);
      node = unwrap(node.object);
    }
    if (!node || node.type !== 'Identifier') return null;
    if (GLOBAL_ROOTS.has(node.name)) {
      if (topLevel.has(node.name)) return null;
    } else if (this.names.has(node.name) && !topLevel.has(node.name)) {
      path.unshift(node.name);
    } else {
      return null;
    }
    if (path.length === 1) return this.names.has(path[0]) ? { key: path[0] } : null;
    if (path.length !== 2 || !this.names.has(path[0])) return null;
    const key = `${path[0]}[${JSON.stringify(path[1])}]`;
    if (this.names.has(key)) return { key };
    // `window.Remotion.interpolate` is a value, not a module: only a property the global lacks is sure.
    return this.names.get(path[0]).has(path[1]) ? null : { missing: { parent: path[0], node: props.at(-1) } };
  }

  describe(target) {
    const pkg = this.packages[target] ?? this.packages[INDEXED_RE.exec(target)?.[1]];
    return pkg ? `the host runtime has ${pkg}` : 'not in the host runtime';
  }
}

// `import [type] [Default,] [{ names } | * as ns] from 'x'`; the scan counts on every `import` being one.
const IMPORT_STATEMENT_RE = /\bimport\s+(type\s+)?(?:[\w$]+\s*,?\s*)?(?:\*\s*as\s+[\w$]+|\{([^{}]*)\})?\s*from\s*(['"])([^'"\n]+)\3/g;
const GLOBAL_ROOT_TAIL_RE = /(?:(?<![\w$.])(?:window|globalThis|self)\s*\??\.\s*)$/;
const PLAIN_NAME_RE = /^[\w$]+$/;
const SCAN_WINDOW = 4000;

/** One `{ ... }` entry of an import: its imported name; null for none (type-only); undefined: unsure. */
function importedName(part) {
  const text = part.trim();
  if (text === '') return null;
  if (/^type\s/.test(text)) return null;
  const m = /^(?:([\w$]+)|"([^"]*)"|'([^']*)')(?:\s+as\s+[\w$]+)?$/.exec(text);
  return m === null ? undefined : (m[1] ?? m[2] ?? m[3]);
}

/** One `{ ... }` entry of a destructuring: the key; null when none is required (rest, default value). */
function destructuredName(part) {
  const text = part.trim();
  if (text === '' || text.startsWith('...')) return null;
  if (/[{}()[\]/`]/.test(text)) return undefined;
  if (text.includes('=')) return null; // a default value: the scene expects it may be missing
  const key = text.split(':')[0].trim().replace(/^(['"])(.*)\1$/, '$2');
  return PLAIN_NAME_RE.test(key) ? key : undefined;
}

function unwrap(node) {
  while (node && ['TSAsExpression', 'TSSatisfiesExpression', 'TSNonNullExpression', 'ParenthesizedExpression',
    'TSTypeAssertion'].includes(node.type)) {
    node = node.expression;
  }
  return node;
}

function topLevelNames(program) {
  const names = new Set();
  for (const stmt of program.body) {
    const decl = stmt.type === 'ExportNamedDeclaration' && stmt.declaration ? stmt.declaration : stmt;
    if (decl.type === 'ImportDeclaration') for (const s of decl.specifiers) names.add(s.local.name);
    if ((decl.type === 'FunctionDeclaration' || decl.type === 'ClassDeclaration') && decl.id) names.add(decl.id.name);
    if (decl.type === 'VariableDeclaration') {
      for (const d of decl.declarations) if (d.id.type === 'Identifier') names.add(d.id.name);
    }
  }
  return names;
}

/** Every VariableDeclarator in the program, in source order, at any depth. */
function* declarators(node) {
  if (!node || typeof node.type !== 'string') return;
  if (node.type === 'VariableDeclarator') yield node;
  for (const key of Object.keys(node)) {
    if (key === 'loc' || key === 'extra' || key === 'leadingComments' || key === 'trailingComments') continue;
    const child = node[key];
    if (Array.isArray(child)) {
      for (const c of child) if (c && typeof c.type === 'string') yield* declarators(c);
    } else if (child && typeof child.type === 'string') {
      yield* declarators(child);
    }
  }
}
