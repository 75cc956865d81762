/**
 * Notification sinks in the configuration file: a generic webhook (JSON,
 * signed) or a Slack-compatible incoming webhook, each with the events it
 * wants; `notifications.sinks` for every target, a target's own
 * `notifications.sinks` for it alone. A URL that is itself a secret (Slack's)
 * and the signing key are named by environment variable, never written in
 * the file; the worker reads them when it delivers.
 */
import { Type, type Static } from '@sinclair/typebox';
import { NOTIFICATION_EVENTS, type NotificationSubscription } from '../domain/notifications';
import { SecretRef } from '../domain/schemas';
import type { FieldProblem } from './schemaErrors';

/** A signing key shorter than SHA-256's output is weaker than the hash. */
export const MIN_SIGNING_KEY_BYTES = 32;

export const SINK_TYPES = ['webhook', 'slack'] as const;

export const NotificationSink = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$', description: 'a name of lowercase letters, digits and dashes, at most 40' }),
    type: Type.Union(SINK_TYPES.map((t) => Type.Literal(t))),
    /** The receiver's URL, or the environment variable that holds it (a Slack webhook's URL is its secret). */
    url: Type.Union([Type.String({ minLength: 1, maxLength: 2048 }), SecretRef], { description: 'an http(s) URL, or { env: VARIABLE } naming the variable that holds it' }),
    /** The HMAC-SHA256 key the payload is signed with (X-Cutover-Signature); required for a webhook. */
    secret: Type.Optional(SecretRef),
    events: Type.Array(Type.Union(NOTIFICATION_EVENTS.map((e) => Type.Literal(e))), { minItems: 1, uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type NotificationSink = Static<typeof NotificationSink>;

const Sinks = Type.Array(NotificationSink, { maxItems: 20 });

/** The file's `notifications:`. */
export const NotificationsInput = Type.Object(
  {
    /** Where people reach the console, for the links in a payload; unset: the API's own address with the embedded dev server, else no console links. */
    consoleUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+[^/\\s]$', description: 'an http(s) URL without a trailing slash' })),
    sinks: Sinks,
  },
  { additionalProperties: false },
);
export type NotificationsInput = Static<typeof NotificationsInput>;

/** A target's own `notifications:`. */
export const TargetNotificationsInput = Type.Object({ sinks: Sinks }, { additionalProperties: false });

interface WithSinks {
  notifications?: { sinks: NotificationSink[] };
  targets: { name: string; notifications?: { sinks: NotificationSink[] } }[];
}

/** Every sink of the file with where it is written. */
function allSinks(file: WithSinks): { sink: NotificationSink; field: string }[] {
  return [
    ...(file.notifications?.sinks ?? []).map((sink, i) => ({ sink, field: `notifications.sinks[${i}]` })),
    ...file.targets.flatMap((t, ti) => (t.notifications?.sinks ?? []).map((sink, i) => ({ sink, field: `targets[${ti}].notifications.sinks[${i}]` }))),
  ];
}

/** A sink's literal URL, or why it cannot be one. */
export function sinkUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `'${url}' is not a URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `'${url}' is not an http or https URL`;
  if (parsed.username || parsed.password) return 'holds credentials: name the variable that holds the whole URL instead ({ env: VARIABLE })';
  return undefined;
}

/** What the schema cannot say: names unique across the file, literal URLs that parse, a webhook's key. */
export function notificationProblems(file: WithSinks): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Map<string, string>();
  for (const { sink, field } of allSinks(file)) {
    const first = seen.get(sink.name);
    if (first) problems.push({ field: `${field}.name`, message: `'${sink.name}' is already the name of ${first}` });
    else seen.set(sink.name, field);
    const bad = typeof sink.url === 'string' ? sinkUrlProblem(sink.url) : undefined;
    if (bad) problems.push({ field: `${field}.url`, message: bad });
    if (sink.type === 'webhook' && !sink.secret) problems.push({ field: `${field}.secret`, message: 'is required for a webhook: { env: VARIABLE } naming its signing key, which the receiver verifies X-Cutover-Signature with' });
  }
  return problems;
}

/** What the worker reads from its environment to deliver: URLs and keys that are set and usable. */
export function notificationEnvProblems(file: WithSinks, env: NodeJS.ProcessEnv): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const { sink, field } of allSinks(file)) {
    if (typeof sink.url !== 'string') {
      const url = env[sink.url.env];
      const bad = url ? sinkUrlProblem(url) : `environment variable ${sink.url.env} is not set: set it to ${sink.name}'s URL`;
      if (bad) problems.push({ field: `${field}.url`, message: url ? `${sink.url.env} ${bad}` : bad });
    }
    if (sink.secret) {
      const key = env[sink.secret.env];
      if (!key) problems.push({ field: `${field}.secret`, message: `environment variable ${sink.secret.env} is not set: set it to ${sink.name}'s signing key, e.g. $(openssl rand -base64 32)` });
      else if (Buffer.byteLength(key) < MIN_SIGNING_KEY_BYTES) {
        problems.push({ field: `${field}.secret`, message: `${sink.secret.env} has ${Buffer.byteLength(key)} bytes: a signing key needs at least ${MIN_SIGNING_KEY_BYTES}` });
      }
    }
  }
  return problems;
}

/** The sinks that apply to a target: the file's, then its own. */
export function sinksFor(file: WithSinks, target: string): NotificationSink[] {
  return [...(file.notifications?.sinks ?? []), ...(file.targets.find((t) => t.name === target)?.notifications?.sinks ?? [])];
}

/** What an upgrade of the target subscribes to (the workflow's input): each sink's name and events. */
export function subscriptionsFor(file: WithSinks, target: string): NotificationSubscription[] {
  return sinksFor(file, target).map((s) => ({ sink: s.name, events: s.events }));
}
