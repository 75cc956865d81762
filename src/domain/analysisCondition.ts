/**
 * successCondition / failureCondition: small expressions over the measured
 * value `result`, such as `result < 0.05` or `result >= 0.99 && result <= 1`.
 * Parsed by hand (never eval) and type-checked when parsed, so a condition
 * that parses cannot fail when it is evaluated. Grammar, loosest first:
 *   || , && , == != , < <= > >= , + - , * / , unary ! - , primary
 * primary: a number, true, false, result (result[0] too, as Argo writes it), ( expr ).
 */
type Value = number | boolean;
type Kind = 'number' | 'boolean';
interface Node {
  kind: Kind;
  eval(result: number): Value;
}

export type Condition = (result: number) => boolean;

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|(result|true|false)|(&&|\|\||[<>=!]=|[<>!()+\-*/]|\[0\]))/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    if (text.slice(at).trim() === '') break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(text);
    if (!m) throw new Error(`cannot read '${text.slice(at).trim().slice(0, 20)}' at character ${at + 1}: use result, numbers, < <= > >= == != && || ! + - * / and parentheses`);
    tokens.push(m[1] ?? m[2] ?? m[3]);
    at = TOKEN.lastIndex;
  }
  return tokens;
}

const BINARY: { ops: string[]; operand: Kind; yields: Kind; apply: (op: string, a: never, b: never) => Value }[] = [
  { ops: ['||'], operand: 'boolean', yields: 'boolean', apply: (_op, a: boolean, b: boolean) => a || b },
  { ops: ['&&'], operand: 'boolean', yields: 'boolean', apply: (_op, a: boolean, b: boolean) => a && b },
  { ops: ['==', '!='], operand: 'number', yields: 'boolean', apply: (op, a: number, b: number) => (op === '==' ? a === b : a !== b) },
  {
    ops: ['<', '<=', '>', '>='],
    operand: 'number',
    yields: 'boolean',
    apply: (op, a: number, b: number) => (op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b),
  },
  { ops: ['+', '-'], operand: 'number', yields: 'number', apply: (op, a: number, b: number) => (op === '+' ? a + b : a - b) },
  { ops: ['*', '/'], operand: 'number', yields: 'number', apply: (op, a: number, b: number) => (op === '*' ? a * b : a / b) },
];

/** Parses a condition; throws an Error that says what is wrong, for a 400 or a config error. */
export function parseCondition(text: string): Condition {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const expect = (kind: Kind, node: Node, op: string): Node => {
    if (node.kind !== kind) throw new Error(`'${op}' needs ${kind === 'number' ? 'numbers' : 'comparisons'} on both sides`);
    return node;
  };

  const binary = (level: number): Node => {
    if (level === BINARY.length) return unary();
    const { ops, operand, yields, apply } = BINARY[level];
    let left = binary(level + 1);
    while (ops.includes(peek())) {
      const op = tokens[i++];
      const a = expect(operand, left, op);
      const b = expect(operand, binary(level + 1), op);
      left = { kind: yields, eval: (r) => apply(op, a.eval(r) as never, b.eval(r) as never) };
    }
    return left;
  };

  const unary = (): Node => {
    const op = peek();
    if (op === '!' || op === '-') {
      i++;
      const inner = expect(op === '!' ? 'boolean' : 'number', unary(), op);
      return op === '!' ? { kind: 'boolean', eval: (r) => !inner.eval(r) } : { kind: 'number', eval: (r) => -(inner.eval(r) as number) };
    }
    return primary();
  };

  const primary = (): Node => {
    const t = tokens[i++];
    if (t === undefined) throw new Error('ends too early: a value is missing');
    if (t === '(') {
      const inner = binary(0);
      if (tokens[i++] !== ')') throw new Error("a '(' is not closed");
      return inner;
    }
    if (t === 'result') {
      if (peek() === '[0]') i++;
      return { kind: 'number', eval: (r) => r };
    }
    if (t === 'true' || t === 'false') return { kind: 'boolean', eval: () => t === 'true' };
    if (/^[\d.]/.test(t)) {
      const n = Number(t);
      return { kind: 'number', eval: () => n };
    }
    throw new Error(`unexpected '${t}'`);
  };

  const root = binary(0);
  if (i < tokens.length) throw new Error(`unexpected '${tokens[i]}' after a complete condition`);
  if (root.kind !== 'boolean') throw new Error('is a number, not a condition: compare result with something, e.g. result < 0.05');
  return (result) => root.eval(result) as boolean;
}
