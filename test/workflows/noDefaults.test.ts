/**
 * The upgrade's workflow code (the skeleton and the strategies, and what they
 * import from src/workflows) gets its settings complete and applies no
 * default: read with the type checker, no `??` or `||` falls back from a
 * setting, no destructuring gives one a default, and nothing imports a
 * default or a completion from src/domain but the upcast of the input
 * (completeInput, which the skeleton runs once on what it was started with).
 */
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '..', '..');
const WORKFLOWS = join(ROOT, 'src', 'workflows');
/** Types whose values are settings: the skeleton's (and the checks they carry) and every kind's. */
const SETTINGS = { file: /\/src\/domain\/(upgrade|analysis)\.ts$/, names: new Set(['UpgradeOptions', 'GateOptions', 'TrafficStep', 'AnalysisCheck']) };
const KIND_SETTINGS_FILE = /\/src\/domain\/[a-z]+\/settings\.ts$/;
const FALLBACKS = new Set([ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.QuestionQuestionEqualsToken, ts.SyntaxKind.BarBarEqualsToken]);

const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
const program = ts.createProgram([join(WORKFLOWS, 'blueGreenUpgrade.ts'), join(WORKFLOWS, 'strategies', 'index.ts')], options);
const checker = program.getTypeChecker();
const upgradeCode = program.getSourceFiles().filter((f) => f.fileName.startsWith(WORKFLOWS));

function isSettings(type: ts.Type): boolean {
  const t = checker.getNonNullableType(type);
  if (t.isUnion()) return t.types.some(isSettings);
  const symbol = t.aliasSymbol ?? t.getSymbol();
  const file = symbol?.declarations?.[0]?.getSourceFile().fileName ?? '';
  return KIND_SETTINGS_FILE.test(file) || (SETTINGS.file.test(file) && SETTINGS.names.has(symbol!.name));
}

const unparenthesized = (e: ts.Expression): ts.Expression => (ts.isParenthesizedExpression(e) ? unparenthesized(e.expression) : e);

/** A setting read: `x.name` or `x[key]` where x is settings (or `{ name } = x`, below). */
const readsSetting = (node: ts.Expression): boolean =>
  (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) && isSettings(checker.getTypeAtLocation(node.expression));

interface Found {
  reads: number;
  offences: string[];
}

function scan(file: ts.SourceFile): Found {
  const found: Found = { reads: 0, offences: [] };
  const where = (node: ts.Node) => `${relative(ROOT, file.fileName)}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText().slice(0, 100)}`;
  const visit = (node: ts.Node): void => {
    if (ts.isExpression(node) && readsSetting(node)) found.reads++;
    if (ts.isBinaryExpression(node) && FALLBACKS.has(node.operatorToken.kind) && readsSetting(unparenthesized(node.left))) {
      found.offences.push(`a fallback from a setting, ${where(node)}`);
    }
    if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent) && isSettings(checker.getTypeAtLocation(node.parent))) {
      found.reads++;
      if (node.initializer) found.offences.push(`a setting destructured with a default, ${where(node)}`);
    }
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && node.moduleSpecifier.text.startsWith('.')) {
      const target = resolve(dirname(file.fileName), node.moduleSpecifier.text);
      const named = node.importClause?.namedBindings;
      if (target.startsWith(join(ROOT, 'src', 'domain')) && named && ts.isNamedImports(named)) {
        for (const name of named.elements.map((e) => (e.propertyName ?? e.name).text)) {
          if (/DEFAULTS$/.test(name) || (/^complete[A-Z]/.test(name) && name !== 'completeInput')) found.offences.push(`imports ${name}, ${where(node)}`);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

const scanned = upgradeCode.map((f) => ({ file: relative(WORKFLOWS, f.fileName), ...scan(f) }));

test('the skeleton, the strategies and what they import from src/workflows are all read', () => {
  expect(scanned.map((s) => s.file)).toEqual(expect.arrayContaining(['blueGreenUpgrade.ts', 'gates.ts', 'saga.ts', 'trafficPlan.ts', 'strategies/emqx.ts', 'strategies/kong.ts', 'strategies/projection.ts']));
  // the reads are seen (each strategy reads its kind's settings, the skeleton its own), so the next test looks at them
  for (const file of ['blueGreenUpgrade.ts', 'strategies/emqx.ts', 'strategies/kong.ts', 'strategies/projection.ts']) {
    expect(scanned.find((s) => s.file === file)!.reads).toBeGreaterThan(0);
  }
});

test('no default is applied to a setting in the upgrade workflow code', () => {
  expect(scanned.flatMap((s) => s.offences)).toEqual([]);
});
