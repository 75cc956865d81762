/**
 * The http provider: GET the check's URL; `result` is a JSON field of a 2xx
 * answer (jsonPath), or without jsonPath the status code itself, so
 * `result == 200` is a smoke check. It reaches only the hosts its target's
 * policy allows (httpHosts), checked before each request and again on the
 * addresses the name resolves to, on the connection itself, so a name cannot
 * lead to a forbidden address; it follows no redirect and reads at most
 * maxBodyBytes of an answer.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { ApplicationFailure } from '@temporalio/activity';
import { Agent, fetch } from 'undici';
import { hostRules, portOf, type HostRules } from '../../config/httpHosts';
import { fillTemplate } from '../../domain/analysis';
import { numberOf, type AnalysisProvider } from './provider';

export const HTTP_MAX_BODY_BYTES = 64 * 1024;

export interface HttpProviderDeps {
  /** The hosts a target's checks may reach: its policy's httpHosts (default none: no http check runs). */
  allowedHosts?: (target: string) => readonly string[];
  maxBodyBytes?: number;
  /** Name resolution (default the system's). */
  lookup?: LookupFunction;
}

/** A check that may not run where it points: retrying cannot help, the run ends at once. */
const forbidden = (message: string) => ApplicationFailure.nonRetryable(message, 'AnalysisForbidden');

export function createHttpProvider(deps: HttpProviderDeps): AnalysisProvider {
  const maxBody = deps.maxBodyBytes ?? HTTP_MAX_BODY_BYTES;
  const resolve = deps.lookup ?? (dnsLookup as LookupFunction);
  return {
    async measure({ target, check, vars, signal }) {
      if (!check.url) throw new Error('the check has no url');
      const url = new URL(fillTemplate(check.url, vars, encodeURIComponent));
      const rules = hostRules(deps.allowedHosts?.(target) ?? []);
      if (!rules.allowsHost(url.hostname, portOf(url))) {
        throw forbidden(`http check ${check.name} may not reach ${url.host}: the policy of target ${target} does not allow it (policy.httpHosts)`);
      }
      // The agent connects only to addresses the rules allow, whatever the name resolves to at that moment.
      const dispatcher = new Agent({ connect: { lookup: guardedLookup(resolve, rules) }, connections: 1 });
      try {
        const res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual', signal, dispatcher }).catch((err: unknown) => {
          const cause = (err as { cause?: unknown }).cause;
          if (cause instanceof ForbiddenAddress) throw forbidden(`http check ${check.name} may not reach ${url.host}: ${cause.message} (policy.httpHosts of target ${target})`);
          throw err;
        });
        if (res.status >= 300 && res.status < 400) {
          await res.body?.cancel();
          throw new Error(`HTTP ${res.status} from ${url.host}: redirects are not followed`);
        }
        if (!check.jsonPath) {
          await res.body?.cancel();
          return res.status;
        }
        if (!res.ok) {
          await res.body?.cancel();
          throw new Error(`HTTP ${res.status} from ${url.host}`);
        }
        const text = await readCapped(res.body, maxBody);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new Error('the answer is not JSON');
        }
        return numberOf(select(body, check.jsonPath), check.jsonPath);
      } finally {
        await dispatcher.close();
      }
    },
  };
}

class ForbiddenAddress extends Error {}

/** Resolves as the system does, then refuses a connection to an address the rules do not allow. */
function guardedLookup(resolve: LookupFunction, rules: HostRules): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const all = addresses as unknown as LookupAddress[];
      const refused = all.find((a) => !rules.allowsAddress(a.address));
      if (refused) return callback(new ForbiddenAddress(`${hostname} resolves to ${refused.address}, an address that is not allowed`), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, all);
      return callback(null, all[0].address, all[0].family);
    });
  };
}

/** The answer's text, refused once it passes `max` bytes (the rest is never read). */
async function readCapped(body: ReadableStream<Uint8Array> | null, max: number): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    size += r.value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new Error(`the answer is larger than ${max / 1024} KiB: it was cut there`);
    }
    chunks.push(r.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A field by a simple JSONPath ($.a.b[0].c); a missing field is undefined (no data). */
function select(body: unknown, path: string): unknown {
  let at = body;
  for (const [, key, index] of path.matchAll(/\.?([A-Za-z0-9_-]+)|\[([0-9]+)\]/g)) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key ?? Number(index)];
  }
  return at;
}
