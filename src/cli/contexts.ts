/**
 * Where the CLI finds the API and its token: flags, then the environment
 * (CUTOVER_URL, CUTOVER_TOKEN, CUTOVER_CONTEXT), then a context of
 * ~/.config/cutover/config.yaml, as kubectl's contexts: each a URL and a
 * token (inline, or the name of the variable that holds it). Each value
 * keeps where it came from, so an error can say which to change.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CliError, EXIT } from './exitCodes';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface Context {
  name: string;
  url: string;
  token?: string;
  'token-env'?: string;
}

export interface ContextFile {
  'current-context'?: string;
  contexts: Context[];
}

export interface Connection {
  url: string;
  urlFrom: string;
  token?: string;
  tokenFrom?: string;
}

export interface ConnectionFlags {
  url?: string;
  token?: string;
  context?: string;
}

export function contextFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'cutover', 'config.yaml');
}

const bad = (path: string, what: string) => new CliError(EXIT.usage, `${path}: ${what}; fix the file or recreate it with cutover config set-context`);

export function readContexts(path: string): ContextFile {
  if (!existsSync(path)) return { contexts: [] };
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8')) ?? {};
  } catch (err) {
    throw bad(path, `is not YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (typeof doc !== 'object' || Array.isArray(doc)) throw bad(path, 'must be a mapping with current-context and contexts');
  const file = doc as Record<string, unknown>;
  const contexts = file.contexts ?? [];
  if (!Array.isArray(contexts)) throw bad(path, 'contexts must be a list');
  contexts.forEach((c: Record<string, unknown>, i) => {
    for (const field of ['name', 'url'] as const) if (typeof c?.[field] !== 'string') throw bad(path, `contexts[${i}].${field} is required (a string)`);
    for (const field of ['token', 'token-env'] as const) if (c[field] !== undefined && typeof c[field] !== 'string') throw bad(path, `contexts[${i}].${field} must be a string`);
  });
  const current = file['current-context'];
  if (current !== undefined && typeof current !== 'string') throw bad(path, 'current-context must be a context name');
  return { 'current-context': current, contexts: contexts as Context[] };
}

/** Written readable by its owner only: it may hold tokens. */
export function writeContexts(path: string, file: ContextFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, stringify(file), { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const path = contextFilePath(env);
  const file = readContexts(path);
  const wanted = flags.context ?? env.CUTOVER_CONTEXT ?? file['current-context'];
  const wantedFrom = flags.context ? '--context' : env.CUTOVER_CONTEXT ? 'CUTOVER_CONTEXT' : `current-context in ${path}`;
  const context = wanted === undefined ? undefined : file.contexts.find((c) => c.name === wanted);
  if (wanted !== undefined && !context) {
    const known = file.contexts.map((c) => c.name).join(', ') || 'none';
    throw new CliError(EXIT.usage, `no context '${wanted}' (from ${wantedFrom}) in ${path} (known: ${known}); add it with cutover config set-context ${wanted} --url URL`);
  }
  const where = context && `context '${context.name}' in ${path}`;
  const url = flags.url ? { url: flags.url, urlFrom: '--url' } : env.CUTOVER_URL ? { url: env.CUTOVER_URL, urlFrom: 'CUTOVER_URL' } : context ? { url: context.url, urlFrom: where! } : { url: DEFAULT_URL, urlFrom: 'the default' };
  const token = flags.token
    ? { token: flags.token, tokenFrom: '--token' }
    : env.CUTOVER_TOKEN
      ? { token: env.CUTOVER_TOKEN, tokenFrom: 'CUTOVER_TOKEN' }
      : context?.['token-env']
        ? { token: env[context['token-env']] || undefined, tokenFrom: `${context['token-env']} (token-env of ${where})` }
        : context?.token
          ? { token: context.token, tokenFrom: where }
          : {};
  return { ...url, url: url.url.replace(/\/+$/, ''), ...token };
}
