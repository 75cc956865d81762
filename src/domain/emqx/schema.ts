/**
 * The EMQX kind as people configure it: how the worker reaches a target's
 * EMQX API (config file), and how an upgrade drains blue (`options.emqx` in a
 * request or in the defaults), with the EMQX Operator's defaults.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseOptionalDuration as ms } from '../duration';
import { Duration, SecretRef } from '../schemas';
import { completeEmqxSettings, type EmqxSettings } from './settings';

export const EmqxAccess = Type.Object(
  {
    apiUrl: Type.String({ pattern: '^https?://', description: 'an http(s) URL of the EMQX dashboard listener, e.g. http://emqx-dashboard.mqtt:18083' }),
    apiKey: SecretRef,
    apiSecret: SecretRef,
    nodeName: Type.Optional(
      Type.String({
        pattern: '^[^@\\s]+@.*\\{(pod|podIP)\\}.*$',
        default: 'emqx@{pod}',
        description:
          'a node name pattern: emqx@{pod}.emqx-headless.{namespace}.svc.cluster.local for cores (the EMQX Operator\'s), emqx@{podIP} for replicants ({pod}, {podIP} and {namespace} are filled in)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type EmqxAccess = Static<typeof EmqxAccess>;

export const EmqxOptions = Type.Object(
  {
    connEvictRate: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'connections evicted per second per node (default 1000)' })),
    sessEvictRate: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'sessions migrated per second per node (default 1000)' })),
    waitTakeover: Type.Optional(Duration),
    waitHealthCheck: Type.Optional(Duration),
    initialDelay: Type.Optional(Duration),
    drainInterval: Type.Optional(Duration),
    drain: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('evacuation'), Type.Literal('pod-removal')], {
        description:
          "how blue is drained: auto (default) evacuates where both releases have node evacuation (Enterprise, or any edition from 5.9) and removes pods " +
          "one every drainInterval where they do not; evacuation refuses at plan an upgrade that cannot evacuate; pod-removal never evacuates",
      }),
    ),
    scaleDownDuringDrain: Type.Optional(
      Type.Boolean({
        description:
          'remove each blue node as soon as it is drained, as the EMQX Operator does (default false: blue stands by whole until cleanUpBlue, so a rollback in the standby window has it at once)',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "EMQX draining, as the EMQX Operator's evacuationStrategy: eviction rates, the takeover and health-check waits, " +
      'the delay after the traffic switch, and the interval between pod removals when the evacuation API is absent',
  },
);
export type EmqxOptions = Static<typeof EmqxOptions>;

/** options.<kind> (its layers merged) as the workflow gets it: every setting, durations in milliseconds. */
export function toEmqxSettings(o: EmqxOptions): EmqxSettings {
  return completeEmqxSettings({
    connEvictRate: o.connEvictRate,
    sessEvictRate: o.sessEvictRate,
    waitTakeoverMs: ms(o.waitTakeover),
    waitHealthCheckMs: ms(o.waitHealthCheck),
    initialDelayMs: ms(o.initialDelay),
    drainIntervalMs: ms(o.drainInterval),
    scaleDownDuringDrain: o.scaleDownDuringDrain,
    drain: o.drain,
  });
}
