/**
 * The layering the README's Architecture promises, read from the import statements of src/:
 * folders import downward only (no cycle between src/'s folders), and the
 * skeleton, the API and the config know kinds only through the registries.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { KINDS } from '../../src/domain/kinds';

const SRC = resolve(__dirname, '..', '..', 'src');

interface Import {
  from: string; // path relative to src/
  to: string;
  typeOnly: boolean;
}

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });

function resolveModule(fromFile: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined; // a package
  const base = resolve(dirname(fromFile), spec);
  const found = [`${base}.ts`, join(base, 'index.ts'), base].find((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
  if (!found) throw new Error(`${relative(SRC, fromFile)}: cannot resolve ${spec}`);
  return relative(SRC, found);
}

/** `import type {…}`, `import {type A, type B}` and `export type {…}` vanish at run time. */
function isTypeOnly(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(node)) return node.isTypeOnly;
  const clause = node.importClause;
  if (!clause) return false; // a side-effect import
  if (clause.isTypeOnly) return true;
  const named = clause.namedBindings;
  return !clause.name && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
}

function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: Import[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    const to = resolveModule(file, spec);
    if (to) found.push({ from: relative(SRC, file), to, typeOnly });
  };
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, isTypeOnly(node));
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0])) {
      add(node.arguments[0].text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const imports = sourceFiles(SRC).flatMap(importsOf);
/** src/'s top-level folder of a path (main.ts is a folder of its own: it wires everything). */
const folderOf = (path: string): string => path.split('/')[0];
/** Workflow code names activity types so that proxyActivities is typed; it never loads them (the README's Architecture). */
const allowed = (i: Import): boolean => i.typeOnly && folderOf(i.from) === 'workflows' && folderOf(i.to) === 'activities';

/** Every cycle's folders, found by a depth-first walk of the folder graph. */
function folderCycles(edges: Map<string, Set<string>>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const walk = (folder: string, path: string[]) => {
    const at = path.indexOf(folder);
    if (at >= 0) return void cycles.push([...path.slice(at), folder]);
    if (done.has(folder)) return;
    for (const next of edges.get(folder) ?? []) walk(next, [...path, folder]);
    done.add(folder);
  };
  for (const folder of edges.keys()) walk(folder, []);
  return cycles;
}

test('src/ has no import cycle between its folders (type-only imports of activities by workflows aside)', () => {
  const edges = new Map<string, Set<string>>();
  for (const i of imports) {
    const [from, to] = [folderOf(i.from), folderOf(i.to)];
    if (from === to || allowed(i)) continue;
    edges.set(from, (edges.get(from) ?? new Set()).add(to));
  }
  const cycles = folderCycles(edges);
  // each cycle with the imports that make it, so the message says which line to move
  const culprits = cycles.map((c) => ({
    cycle: c.join(' -> '),
    imports: c.slice(1).flatMap((to, k) => imports.filter((i) => folderOf(i.from) === c[k] && folderOf(i.to) === to && !allowed(i)).map((i) => `${i.from} -> ${i.to}`)),
  }));
  expect(culprits).toEqual([]);
  expect(edges.get('domain')).toBeUndefined(); // the pure core imports no other folder
});

test('workflows import activities for their types only', () => {
  const loaded = imports.filter((i) => folderOf(i.from) === 'workflows' && folderOf(i.to) === 'activities' && !i.typeOnly);
  expect(loaded.map((i) => `${i.from} -> ${i.to}`)).toEqual([]);
});

describe('the skeleton, the API and the config name no kind', () => {
  /** A kind's own places per layer; the registries (kinds.ts, strategies/index.ts, sandbox/index.ts) import them. */
  const kindPlace = (path: string): string | undefined =>
    KINDS.find((kind) => [`domain/${kind}/`, `activities/${kind}/`, `sandbox/${kind}/`].some((p) => path.startsWith(p)) || path === `workflows/strategies/${kind}.ts`);
  const generic = (path: string): boolean =>
    path.startsWith('api/') || path.startsWith('config/') || (path.startsWith('workflows/') && !path.startsWith('workflows/strategies/'));

  test('the registry knows every kind, and every kind has its places', () => {
    expect(KINDS.length).toBeGreaterThan(0);
    for (const kind of KINDS) expect(imports.some((i) => i.to === `workflows/strategies/${kind}.ts`)).toBe(true);
  });

  test.each(['workflows/blueGreenUpgrade.ts', 'api/upgradeWorkflows.ts', 'config/options.ts'])('%s is among the files checked', (path) => {
    expect(generic(path) && imports.some((i) => i.from === path)).toBe(true);
  });

  test('no import from src/workflows (strategies aside), src/api or src/config reaches into a kind', () => {
    const offending = imports.filter((i) => generic(i.from) && kindPlace(i.to)).map((i) => `${i.from} -> ${i.to} (${kindPlace(i.to)})`);
    expect(offending).toEqual([]);
  });
});
