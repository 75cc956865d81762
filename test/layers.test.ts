/**
 * The layering the README's Architecture promises, read from the import
 * statements of src/: folders import downward only (no cycle between src/'s
 * folders), no cycle between files either (type-only imports included), the
 * production entries reach nothing of the embedded default, the sandboxes or
 * the demo, and the skeleton, the API and the config know kinds only through
 * the registries.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { KINDS } from '../src/domain/kindRegistry';

const SRC = resolve(__dirname, '../src');

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
/** src/'s top-level folder of a path. */
const folderOf = (path: string): string => path.split('/')[0];
/** Workflow code names activity types so that proxyActivities is typed; it never loads them (the README's Architecture). */
const allowed = (i: Import): boolean => i.typeOnly && folderOf(i.from) === 'workflows' && folderOf(i.to) === 'activities';

/** Every cycle of a graph (folders or files), found by a depth-first walk. */
function cyclesOf(edges: Map<string, Set<string>>): string[][] {
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
  const cycles = cyclesOf(edges);
  // each cycle with the imports that make it, so the message says which line to move
  const culprits = cycles.map((c) => ({
    cycle: c.join(' -> '),
    imports: c.slice(1).flatMap((to, k) => imports.filter((i) => folderOf(i.from) === c[k] && folderOf(i.to) === to && !allowed(i)).map((i) => `${i.from} -> ${i.to}`)),
  }));
  expect(culprits).toEqual([]);
  expect(edges.get('domain')).toBeUndefined(); // the pure core imports no other folder
});

test('the cycle finder finds a cycle of three files, and none in a chain', () => {
  const graph = (pairs: [string, string][]) => pairs.reduce((g, [a, b]) => g.set(a, (g.get(a) ?? new Set()).add(b)), new Map<string, Set<string>>());
  expect(cyclesOf(graph([['a.ts', 'b.ts'], ['b.ts', 'c.ts'], ['c.ts', 'a.ts']]))).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  expect(cyclesOf(graph([['a.ts', 'b.ts'], ['b.ts', 'c.ts']]))).toEqual([]);
});

/** Every import between files, type-only ones included: a type cycle is still two files that cannot be read apart. */
const fileEdges = (): Map<string, Set<string>> => {
  const edges = new Map<string, Set<string>>();
  for (const i of imports) if (i.from !== i.to) edges.set(i.from, (edges.get(i.from) ?? new Set()).add(i.to));
  return edges;
};

test('src/ has no import cycle between its files, type-only imports included', () => {
  expect(cyclesOf(fileEdges()).map((c) => c.join(' -> '))).toEqual([]);
});

/** The files a file reaches through its imports, itself included. */
function reachedFrom(start: string, edges: Map<string, Set<string>>): Set<string> {
  const seen = new Set([start]);
  const next = [start];
  while (next.length) {
    for (const to of edges.get(next.pop()!) ?? []) {
      if (seen.has(to)) continue;
      seen.add(to);
      next.push(to);
    }
  }
  return seen;
}

/** What production never loads: npm start's launcher, the stand-ins, the demo. */
const EMBEDDED_ONLY = ['embedded/', 'sandbox/', 'demo/'];

describe('the production entries (src/bin/) reach nothing of the embedded default, the sandboxes or the demo', () => {
  const entries = sourceFiles(join(SRC, 'bin')).map((f) => relative(SRC, f));

  test('the worker, the API and the Kong Admin API router are entries', () => {
    expect(entries).toEqual(expect.arrayContaining(['bin/worker.ts', 'bin/api.ts', 'bin/kongAdminRouter.ts']));
  });

  test.each(entries)('%s', (entry) => {
    const edges = fileEdges();
    const reached = [...reachedFrom(entry, edges)];
    // each file reached that production never loads, with the import that reaches it
    const offending = reached.filter((f) => EMBEDDED_ONLY.some((p) => f.startsWith(p)));
    const via = offending.map((f) => `${[...edges].find(([, to]) => to.has(f))?.[0]} -> ${f}`);
    expect(via).toEqual([]);
  });

  test('the check follows imports through other files: npm start reaches the sandbox', () => {
    expect([...reachedFrom('embedded/main.ts', fileEdges())].some((f) => f.startsWith('sandbox/'))).toBe(true);
  });
});

test('workflows import activities for their types only', () => {
  const loaded = imports.filter((i) => folderOf(i.from) === 'workflows' && folderOf(i.to) === 'activities' && !i.typeOnly);
  expect(loaded.map((i) => `${i.from} -> ${i.to}`)).toEqual([]);
});

describe('the skeleton, the API and the config name no kind', () => {
  /** A kind's own places per layer; the registries (domain/kindRegistry.ts, activities/kindActivities.ts, strategies/index.ts, sandbox/index.ts) import them. */
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
