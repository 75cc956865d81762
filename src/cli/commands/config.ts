/** cutover config: the contexts of ~/.config/cutover/config.yaml, as kubectl's (set-context, use-context, get-contexts, current-context, delete-context). */
import { contextFilePath, readContexts, writeContexts, type Context } from '../contexts';
import { CliError, EXIT } from '../exitCodes';
import { print, type Io } from '../io';
import { table } from '../text';

const path = () => contextFilePath();

const unknown = (name: string, contexts: Context[]) =>
  new CliError(EXIT.usage, `no context '${name}' in ${path()} (known: ${contexts.map((c) => c.name).join(', ') || 'none'}); add it with cutover config set-context ${name} --url URL`);

/** Tokens are never printed: where they come from is. */
const tokenOf = (c: Context): string => (c['token-env'] ? `from ${c['token-env']}` : c.token ? 'inline' : 'none');

export function setContext(io: Io, name: string, flags: { url?: string; token?: string; tokenEnv?: string }): void {
  if (flags.token && flags.tokenEnv) throw new CliError(EXIT.usage, 'give --token or --token-env, not both');
  const file = readContexts(path());
  const old = file.contexts.find((c) => c.name === name);
  const url = flags.url ?? old?.url;
  if (!url) throw new CliError(EXIT.usage, `context '${name}' is new: give its --url (e.g. --url http://127.0.0.1:8080)`);
  const token = flags.token || flags.tokenEnv ? { ...(flags.token ? { token: flags.token } : { 'token-env': flags.tokenEnv }) } : { ...(old?.token ? { token: old.token } : {}), ...(old?.['token-env'] ? { 'token-env': old['token-env'] } : {}) };
  const context: Context = { name, url, ...token };
  file.contexts = old ? file.contexts.map((c) => (c === old ? context : c)) : [...file.contexts, context];
  file['current-context'] ??= name;
  writeContexts(path(), file);
  print(io, { context: { ...context, token: context.token ? '(inline)' : undefined } }, () => [`context '${name}' ${old ? 'updated' : 'added'} in ${path()}${file['current-context'] === name ? ' (current)' : ''}`]);
}

export function useContext(io: Io, name: string): void {
  const file = readContexts(path());
  if (!file.contexts.some((c) => c.name === name)) throw unknown(name, file.contexts);
  writeContexts(path(), { ...file, 'current-context': name });
  print(io, { currentContext: name }, () => [`switched to context '${name}'`]);
}

export function deleteContext(io: Io, name: string): void {
  const file = readContexts(path());
  if (!file.contexts.some((c) => c.name === name)) throw unknown(name, file.contexts);
  const current = file['current-context'] === name ? undefined : file['current-context'];
  writeContexts(path(), { ...(current ? { 'current-context': current } : {}), contexts: file.contexts.filter((c) => c.name !== name) });
  print(io, { deleted: name }, () => [`deleted context '${name}'${current ? '' : '; no context is current now (cutover config use-context NAME)'}`]);
}

export function getContexts(io: Io): void {
  const file = readContexts(path());
  const contexts = file.contexts.map((c) => ({ name: c.name, url: c.url, token: tokenOf(c), current: c.name === file['current-context'] }));
  print(io, { currentContext: file['current-context'] ?? null, contexts }, () =>
    contexts.length
      ? table(io.style, ['current', 'name', 'url', 'token'], contexts.map((c) => [{ text: c.current ? '*' : '' }, { text: c.name }, { text: c.url }, { text: c.token }]))
      : [`no contexts in ${path()}: add one with cutover config set-context NAME --url URL --token-env VAR`],
  );
}

export function currentContext(io: Io): void {
  const current = readContexts(path())['current-context'];
  if (!current) throw new CliError(EXIT.usage, `no current context in ${path()}: choose one with cutover config use-context NAME`);
  print(io, { currentContext: current }, () => [current]);
}
