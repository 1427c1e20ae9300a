// Source analysis for the slow paths only; the common scene never reaches this file.

import { parse } from '@babel/parser';

const PASCAL_RE = /^[A-Z][A-Za-z0-9_]*$/;
const GLOBAL_ROOTS = new Set(['window', 'globalThis', 'self']);

class ParseFailed extends Error {}

function parseTsx(source) {
  try {
    return parse(source, {
      sourceType: 'module',
      plugins: ['typescript', 'jsx'],
      errorRecovery: true,
      allowReturnOutsideFunction: true,
      allowUndeclaredExports: true,
    });
  } catch {
    throw new ParseFailed();
  }
}

function unwrap(node) {
  while (node && ['TSAsExpression', 'TSSatisfiesExpression', 'TSNonNullExpression', 'ParenthesizedExpression',
    'TSTypeAssertion'].includes(node.type)) {
    node = node.expression;
  }
  return node;
}

function isComponentValue(init) {
  const node = unwrap(init);
  if (!node) return false;
  if (node.type === 'ArrowFunctionExpression' || node.type === 'FunctionExpression' || node.type === 'ClassExpression') {
    return true;
  }
  // React.memo(...), forwardRef(...), styled wrappers: a call that wraps a function.
  return node.type === 'CallExpression' && node.arguments.some((a) => isComponentValue(a));
}

/** The last top-level PascalCase component's name, null when there is none; throws ParseFailed. */
export function findSceneComponent(source) {
  const ast = parseTsx(source);
  let name = null;
  for (let stmt of ast.program.body) {
    if (stmt.type === 'ExportNamedDeclaration' && stmt.declaration) stmt = stmt.declaration;
    if ((stmt.type === 'FunctionDeclaration' || stmt.type === 'ClassDeclaration') && stmt.id && PASCAL_RE.test(stmt.id.name)) {
      name = stmt.id.name;
    } else if (stmt.type === 'VariableDeclaration') {
      for (const d of stmt.declarations) {
        if (d.id.type === 'Identifier' && PASCAL_RE.test(d.id.name) && isComponentValue(d.init)) name = d.id.name;
      }
    }
  }
  return name;
}

export { ParseFailed };

function isHostObject(node, hostGlobals) {
  node = unwrap(node);
  if (!node) return false;
  if (node.type === 'Identifier') return GLOBAL_ROOTS.has(node.name) || hostGlobals.has(node.name);
  if (node.type === 'MemberExpression' || node.type === 'OptionalMemberExpression') {
    return isHostObject(node.object, hostGlobals);
  }
  if (node.type === 'LogicalExpression') return isHostObject(node.left, hostGlobals);
  return false;
}

function boundName(prop) {
  if (prop.type === 'RestElement') return prop.argument.type === 'Identifier' ? prop.argument.name : null;
  let value = prop.value;
  if (value && value.type === 'AssignmentPattern') value = value.left;
  return value && value.type === 'Identifier' ? value.name : null;
}

function* statementLists(node) {
  if (!node || typeof node.type !== 'string') return;
  if ((node.type === 'Program' || node.type === 'BlockStatement' || node.type === 'StaticBlock') && Array.isArray(node.body)) {
    yield node.body;
  }
  for (const key of Object.keys(node)) {
    if (key === 'loc' || key === 'extra' || key === 'leadingComments' || key === 'trailingComments') continue;
    const child = node[key];
    if (Array.isArray(child)) {
      for (const c of child) if (c && typeof c.type === 'string') yield* statementLists(c);
    } else if (child && typeof child.type === 'string') {
      yield* statementLists(child);
    }
  }
}

/**
 * Drop names that a scope already declared from repeated `const { X } = window.Remotion`-style
 * destructurings, so scenes that paste the globals line twice still compile. Line numbers are kept.
 */
export function dedupeHostDestructurings(source, hostGlobals) {
  let ast;
  try {
    ast = parseTsx(source);
  } catch {
    return source;
  }
  const edits = [];
  for (const list of statementLists(ast.program)) {
    const seen = new Set();
    for (const stmt of list) {
      if (stmt.type === 'ImportDeclaration') {
        for (const s of stmt.specifiers) seen.add(s.local.name);
        continue;
      }
      if (stmt.type !== 'VariableDeclaration') continue;
      for (const d of stmt.declarations) {
        if (d.id.type !== 'ObjectPattern' || !isHostObject(d.init, hostGlobals)) continue;
        const kept = [];
        for (const prop of d.id.properties) {
          const name = boundName(prop);
          if (name !== null && seen.has(name)) continue;
          if (name !== null) seen.add(name);
          kept.push(prop);
        }
        if (kept.length === d.id.properties.length) continue;
        const start = d.id.start;
        const end = d.id.typeAnnotation ? source.lastIndexOf('}', d.id.typeAnnotation.start) + 1 : d.id.end;
        const newlines = source.slice(start, end).split('\n').length - 1;
        const body = kept.map((p) => source.slice(p.start, p.end)).join(', ');
        edits.push({ start, end, text: `{ ${body} }${'\n'.repeat(newlines)}` });
      }
    }
  }
  return applyEdits(source, edits);
}

/** Replace each disjoint [start, end) with its text, in one pass (linear in the number of edits). */
function applyEdits(source, edits) {
  edits.sort((a, b) => a.start - b.start);
  const parts = [];
  let from = 0;
  for (const e of edits) {
    parts.push(source.slice(from, e.start), e.text);
    from = e.end;
  }
  parts.push(source.slice(from));
  return parts.join('');
}

// The contract's check for a bare specifier left in a module. Our output has no real imports left
// (URL imports are exempt), so a match is code-looking text in a string, or a call like
// `Array.from("abc")`; both are neutralised without changing what the code does.
// `\s*(?:\(\s*)?` rather than `\s*\(?\s*`: the same matches, but linear in a run of spaces
export const BARE_SPECIFIER_RE = /(?:\bfrom|\bimport)\s*(?:\(\s*)?["'](?![./]|[A-Za-z][A-Za-z0-9+.-]*:)[^"'\s]+["']/g;

const BARE_SPECIFIER_TEST = new RegExp(BARE_SPECIFIER_RE.source); // no /g: test() must not keep state

function literalRanges(code) {
  const ranges = [];
  const stack = [parse(code, { sourceType: 'module', errorRecovery: true }).program];
  while (stack.length) {
    const node = stack.pop();
    if (node.type === 'StringLiteral' || node.type === 'DirectiveLiteral' || node.type === 'TemplateElement') {
      ranges.push(node);
    }
    for (const key of Object.keys(node)) {
      if (key === 'loc' || key === 'extra') continue;
      const child = node[key];
      if (Array.isArray(child)) {
        for (const c of child) if (c && typeof c.type === 'string') stack.push(c);
      } else if (child && typeof child.type === 'string') {
        stack.push(child);
      }
    }
  }
  // Literals never overlap, so sorted by start they can be binary-searched.
  return ranges.sort((a, b) => a.start - b.start);
}

/** The literal holding offset `at`, or undefined: a binary search over the sorted, disjoint ranges. */
function literalAt(ranges, at) {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid];
    if (at < r.start) hi = mid - 1;
    else if (at >= r.end) lo = mid + 1;
    else return r;
  }
  return undefined;
}

// Linear in the code's length whatever the number of matches: each match finds its literal by a
// binary search, and the output is assembled once from slices (rebuilding the string per edit was
// quadratic: a 256 KB string of look-alikes took longer than the compile timeout).
export function escapeSpecifierLookalikes(code) {
  if (!BARE_SPECIFIER_TEST.test(code)) return code;
  let ranges;
  try {
    ranges = literalRanges(code);
  } catch {
    return code;
  }
  const edits = [];
  for (const m of code.matchAll(BARE_SPECIFIER_RE)) {
    const quote = m.index + m[0].search(/["']/);
    const literal = literalAt(ranges, quote);
    if (!literal) continue;
    if (literal.type === 'TemplateElement' || literal.start < quote) {
      edits.push({ at: quote, text: '\\' }); // inside text: `\'` and `\"` mean the same character
    } else {
      edits.push({ at: literal.start, text: '(' }, { at: literal.end, text: ')' }); // a string argument
    }
  }
  return applyEdits(code, edits.map((e) => ({ start: e.at, end: e.at, text: e.text })));
}

// Brackets (and `${`) nested deeper than this are printed without whitespace: esbuild indents every
// level of a multi-line literal or block, so N levels print about N²/2 spaces (a 20 KB scene of
// `[1,\n` nested 4,000 deep printed 48 MB). Real scenes nest a few dozen levels.
export const MAX_PRETTY_DEPTH = 128;
// Deeper than this is refused: resolving a name walks the scopes around it, so a reference at depth
// N costs N, and blocks nested 30,000 deep took 19 s to bundle.
export const MAX_NESTING_DEPTH = 500;

const REGEX_AFTER = new Set('(,=:[!&|?{};+-*%<>~^'.split('').map((c) => c.charCodeAt(0)));
const REGEX_AFTER_WORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw',
  'case', 'do', 'else', 'yield', 'await']);
const isWordChar = (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 36;

/**
 * The deepest bracket nesting in `source` and the offset where it is reached, skipping strings,
 * template text, comments and regex literals; linear, never throws. A tokenizer's estimate (JSX text
 * is read as code), so a wrong guess costs layout or a refusal of something absurd, never safety:
 * the compile timeout stays the backstop.
 */
export function nestingDepth(source) {
  const stack = []; // 0: a bracket, 1: a `${` inside a template
  let depth = 0;
  let max = 0;
  let at = 0;
  let i = 0;
  let prev = 0; // the last significant character (0: none yet), for telling a regex from a division
  let wordStart = 0;
  let wordEnd = 0;
  const n = source.length;
  const open = (kind) => {
    stack.push(kind);
    if (++depth > max) {
      max = depth;
      at = i - 1;
    }
  };
  const skipTemplate = () => { // from inside a template's text to its end or to the next `${`
    while (i < n) {
      const c = source.charCodeAt(i);
      if (c === 92) { i += 2; continue; } // backslash
      if (c === 96) { i++; return; } // closing backtick
      if (c === 36 && source.charCodeAt(i + 1) === 123) { // `${`
        i += 2;
        open(1);
        return;
      }
      i++;
    }
  };
  while (i < n) {
    const c = source.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    if (isWordChar(c)) {
      wordStart = i;
      i++;
      while (i < n && isWordChar(source.charCodeAt(i))) i++;
      wordEnd = i;
      prev = 119; // 'w'
      continue;
    }
    if (c === 47 && source.charCodeAt(i + 1) === 47) { // line comment: not a token
      const end = source.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (c === 47 && source.charCodeAt(i + 1) === 42) { // block comment: not a token
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    const regexMayStart = c === 47 && (prev === 0
      || (prev === 119 ? REGEX_AFTER_WORDS.has(source.slice(wordStart, wordEnd)) : REGEX_AFTER.has(prev)));
    prev = c;
    if (c === 34 || c === 39) { // a quoted string ends at its quote or at the end of the line
      i++;
      while (i < n) {
        const d = source.charCodeAt(i);
        if (d === 92) { i += 2; continue; }
        i++;
        if (d === c || d === 10) break;
      }
    } else if (c === 96) {
      i++;
      skipTemplate();
    } else if (c === 47 && regexMayStart) {
      i++; // a regex literal: to its closing `/` outside a class, or the end of the line
      let inClass = false;
      while (i < n) {
        const d = source.charCodeAt(i);
        if (d === 92) { i += 2; continue; }
        i++;
        if (d === 10) break;
        if (d === 91) inClass = true;
        else if (d === 93) inClass = false;
        else if (d === 47 && !inClass) break;
      }
    } else if (c === 40 || c === 91 || c === 123) { // ( [ {
      i++;
      open(0);
    } else if (c === 41 || c === 93 || c === 125) { // ) ] }
      i++;
      if (stack.length > 0) {
        depth--;
        if (stack.pop() === 1) skipTemplate(); // the `}` of a `${`: back in the template's text
      }
    } else {
      i++;
    }
  }
  return { depth: max, offset: at };
}

// Sources longer than this are parsed once by Babel before esbuild sees them: esbuild's parser
// recurses once per level of any nesting (JSX, `!!!!x`, `a=>a=>`, `a=a=a`), and at a few hundred
// thousand levels its Go stack passes 1 GB and the whole esbuild service dies. Babel recurses too,
// but in this process, under the worker's --stack-size: a stack overflow is a RangeError here, so a
// scene nested that deeply is refused after a bounded parse. Shorter sources cannot nest deep enough
// to matter (32 K levels cost esbuild ~100 MB of stack, briefly).
export const DEEP_CHECK_BYTES = 32 * 1024;

/** True when parsing `source` overflows this process's stack (nesting far beyond any real scene). */
export function overflowsParser(source) {
  try {
    parse(source, { sourceType: 'module', plugins: ['typescript', 'jsx'], errorRecovery: true });
  } catch (e) {
    return e instanceof RangeError;
  }
  return false;
}
