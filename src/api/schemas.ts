/**
 * The API's request and response schemas. TypeBox builds JSON Schema, which
 * Fastify's ajv validates requests with and @fastify/swagger publishes as
 * OpenAPI, so the documentation cannot drift from what is enforced.
 * Pattern-checked strings carry a description that completes "must be ...".
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { UpgradeOptionsInput } from '../config/options';
import { TARGET_NAME_PATTERN } from '../config/targets';
import { PHASES } from '../domain/phases';
import { STATUSES } from '../domain/status';
import { KINDS } from '../domain/kindRegistry';
import { Duration } from '../domain/schemas';
import { STEPS } from '../domain/upgrade';

const oneOf = <T extends readonly string[]>(values: T, description?: string) =>
  Type.Union(values.map((v) => Type.Literal(v)), description ? { description } : {});

export const KindSchema = oneOf(KINDS, `a kind this worker has a strategy for: ${KINDS.join(', ')}`);
export const TargetName = Type.String({ pattern: TARGET_NAME_PATTERN, description: 'a target name: lowercase letters, digits and dashes' });
const Timestamp = Type.String({ format: 'date-time' });

export const StartUpgradeBody = Type.Object(
  {
    kind: KindSchema,
    target: TargetName,
    version: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$',
      description: 'a version such as 5.8.0 or v2.1.0-rc.1 (letters, digits, dot, dash, plus, underscore)',
    }),
    image: Type.Optional(Type.String({ pattern: '^[^\\s]{1,255}$', description: 'a container image reference without spaces' })),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
    options: Type.Optional(UpgradeOptionsInput),
  },
  { additionalProperties: false },
);
export type StartUpgradeBody = Static<typeof StartUpgradeBody>;

export const StartQuery = Type.Object(
  { dryRun: Type.Optional(oneOf(['true', 'false'], 'true: preview the upgrade, start nothing')) },
  { additionalProperties: false },
);

export { UpgradePreview } from '../domain/preview';

export const SteerBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500, description: 'why: recorded in the upgrade history' }) },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  { target: Type.Optional(TargetName), kind: Type.Optional(KindSchema), status: Type.Optional(oneOf(STATUSES)) },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

/** A client that retries a steering request after a timeout sends the same key: the upgrade acts once. */
export const SteerHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$', description: 'a key of letters, digits and . _ : - (at most 128)' })),
});

export const UpgradeIdParams = Type.Object({ id: Type.String({ description: 'upgrade id: <target>.<runId>' }) });

export const PhaseParams = Type.Object({ target: Type.String(), release: Type.String({ description: 'release name, e.g. orders-mqtt-5-8-0' }) });

/** Long poll: answer once the phase (or weight, or the upgrade) differs from what the service knows. */
export const PHASE_WAIT_MAX_MS = 60_000;
export const PhaseQuery = Type.Object(
  {
    waitForChange: Type.Optional(
      { ...Duration, description: 'a duration of at most 60s such as 30s: wait up to this long for a change before answering' },
    ),
    phase: Type.Optional(oneOf(PHASES, 'the phase the service knows (default: the phase when the request arrives)')),
    weight: Type.Optional(Type.String({ pattern: '^(100|[1-9]?[0-9])$', description: 'the weight the service knows, 0 to 100 (default: the weight when the request arrives)' })),
  },
  { additionalProperties: false },
);

export const Links = Type.Object({
  self: Type.String(),
  temporalUi: Type.Optional(Type.String({ description: 'the run in the Temporal UI: its history is the audit log' })),
});
export type Links = Static<typeof Links>;

export const UpgradeCreated = Type.Object({
  id: Type.String(),
  workflowId: Type.String(),
  runId: Type.String(),
  target: Type.String(),
  kind: KindSchema,
  version: Type.String(),
  requestedBy: Type.String(),
  links: Links,
});

/** A run whose workflow task keeps failing: nothing moves and no request reaches it until it is fixed or terminated. */
const Stuck = Type.Object(
  {
    since: Timestamp,
    attempts: Type.Integer({ description: 'attempts of the failing workflow task so far' }),
    message: Type.String({ description: "the failure's message, e.g. Invalid time value" }),
    cause: Type.Optional(Type.String({ description: "Temporal's cause, e.g. WORKFLOW_WORKER_UNHANDLED_FAILURE or NON_DETERMINISTIC_ERROR" })),
  },
  { description: "execution STUCK: the workflow task keeps failing; the state shown is the one the workflow last published (its memo), not a live query" },
);

export const UpgradeSummary = Type.Object({
  id: Type.String(),
  target: Type.String(),
  kind: Type.Optional(Type.String()),
  status: Type.Optional(Type.String({ description: 'upgrade status (search attribute CutoverStatus)' })),
  phase: Type.Optional(Type.String({ description: "green release's phase (search attribute CutoverPhase)" })),
  execution: Type.String({ description: 'Temporal execution status, or STUCK: running, but its workflow task keeps failing' }),
  stuck: Type.Optional(Stuck),
  startedAt: Timestamp,
  closedAt: Type.Optional(Timestamp),
  links: Links,
});
export type UpgradeSummary = Static<typeof UpgradeSummary>;
export const UpgradeList = Type.Object({ upgrades: Type.Array(UpgradeSummary) });

const open = <T extends Parameters<typeof Type.Object>[0]>(props: T) => Type.Object(props, { additionalProperties: true });
const Release = Type.Union([
  open({ name: Type.String(), version: Type.String(), role: oneOf(['blue', 'green']), phase: oneOf(PHASES), since: Timestamp }),
  Type.Null(),
]);

/** The workflow's state query; open objects so fields the workflow adds are passed on, not dropped. */
export const UpgradeView = open({
  upgradeId: Type.String(),
  kind: KindSchema,
  target: Type.String(),
  version: Type.String(),
  requestedBy: Type.String(),
  startedAt: Timestamp,
  endedAt: Type.Optional(Timestamp),
  status: oneOf(STATUSES),
  step: Type.Union([oneOf(STEPS), Type.Null()]),
  waitingFor: Type.String(),
  releases: open({ blue: Release, green: Release }),
  traffic: open({ blue: Type.Number(), green: Type.Number() }),
  approval: open({ mode: Type.String() }),
  pointOfNoReturnPassed: Type.Boolean(),
  compensations: Type.Array(open({ step: Type.String(), state: Type.String() })),
  failure: Type.Optional(open({ step: Type.String(), message: Type.String() })),
  transitions: Type.Array(open({ at: Timestamp, what: Type.String(), by: Type.String(), why: Type.String() })),
  details: open({}),
  execution: Type.String({
    description:
      'Temporal execution status: RUNNING, COMPLETED, or TERMINATED / TIMED_OUT when the run was stopped without its rollback; STUCK: running, but its workflow task keeps failing',
  }),
  stuck: Type.Optional(Stuck),
  links: Links,
});

export const SteerResult = Type.Object({
  id: Type.String(),
  action: oneOf(['approve', 'rollback', 'abort']),
  accepted: Type.Literal(true),
  status: oneOf(STATUSES),
  by: Type.String(),
});

export const TargetList = Type.Object({
  targets: Type.Array(Type.Object({ name: Type.String(), kind: KindSchema, description: Type.Optional(Type.String()) })),
});

export const TargetParams = Type.Object({ target: TargetName });

const ReleaseOwner = Type.Object({
  target: Type.String(),
  upgrade: Type.Optional(Type.String({ description: 'the upgrade that created it' })),
  adoptedBy: Type.Optional(Type.String({ description: 'for a release cutover did not create (the first blue): the upgrade that took it as the target\'s' })),
  execution: Type.Optional(
    Type.String({ description: "of an orphan: its upgrade's Temporal execution status (TERMINATED: a terminate skipped the rollback that would have removed it)" }),
  ),
});

export const TargetRelease = Type.Object({
  name: Type.String(),
  version: Type.Optional(Type.String()),
  owner: Type.Optional(ReleaseOwner),
  weight: Type.Integer({ minimum: 0, description: "the release's share of traffic now" }),
  serving: Type.Boolean(),
  orphan: Type.Boolean({ description: 'the target\'s, serves nothing, part of no running upgrade: what POST /v1/targets/:target/cleanup removes' }),
  objects: Type.Array(Type.String(), { description: 'what exists of it, e.g. "StatefulSet orders-mqtt-5-8-0-…", "database orders_2_0_0_…"' }),
});

const CleanupView = Type.Object({
  cleanupId: Type.String(),
  target: Type.String(),
  requestedBy: Type.String(),
  reason: Type.String(),
  startedAt: Timestamp,
  endedAt: Type.Optional(Timestamp),
  status: oneOf(['RUNNING', 'SUCCEEDED', 'FAILED']),
  orphans: Type.Array(Type.String()),
  removed: Type.Array(Type.Object({ release: Type.String(), removed: Type.Array(Type.String()), left: Type.Array(Type.String()) })),
  failed: Type.Array(Type.Object({ release: Type.String(), message: Type.String() })),
  failure: Type.Optional(Type.String()),
}, { description: 'the latest clean-up, while it is the last run on the target' });

export const TargetView = Type.Object({
  name: Type.String(),
  kind: KindSchema,
  description: Type.Optional(Type.String()),
  releases: Type.Array(TargetRelease),
  upgrade: Type.Optional(
    Type.Object({ id: Type.String(), status: oneOf(STATUSES), releases: Type.Array(Type.String()) }, { description: 'the upgrade running now, if any' }),
  ),
  cleanup: Type.Optional(CleanupView),
});
export type TargetView = Static<typeof TargetView>;

export const CleanupStarted = Type.Object({
  id: Type.String(),
  target: Type.String(),
  workflowId: Type.String(),
  runId: Type.String(),
  requestedBy: Type.String(),
  links: Links,
});

export const ReleasePhase = Type.Object({
  target: Type.String(),
  release: Type.String(),
  role: oneOf(['blue', 'green']),
  phase: oneOf(PHASES),
  weight: Type.Integer({ minimum: 0, maximum: 100, description: "the release's share of traffic in percent" }),
  since: Timestamp,
  upgradeId: Type.String(),
  status: oneOf(STATUSES),
});

export const ReadyBody = Type.Object(
  {
    ready: Type.Boolean({ description: 'true once the release has caught up and its self-tests pass' }),
    detail: Type.Optional(Type.String({ maxLength: 500, description: 'what the release says about its readiness' })),
  },
  { additionalProperties: false },
);

export const ReadyResult = Type.Object({
  target: Type.String(),
  release: Type.String(),
  ready: Type.Boolean(),
  accepted: Type.Literal(true),
  recorded: Type.Boolean({ description: 'false when the report repeats the latest one: nothing new was recorded' }),
  status: oneOf(STATUSES),
});

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      status: Type.Integer(),
      code: Type.String(),
      message: Type.String(),
      field: Type.Optional(Type.String({ description: 'the request field at fault, as a path such as options.standbyWindow' })),
    }),
  },
);
export type ErrorBody = Static<typeof ErrorBody>;

export const Health = Type.Object({ status: Type.String() });

/** Responses every route can give besides its own (their types stay the route's, for the type provider). */
export function withErrors<R extends Record<number, TSchema>>(responses: R): R & { '4xx': typeof ErrorBody; '5xx': typeof ErrorBody } {
  return { ...responses, '4xx': ErrorBody, '5xx': ErrorBody };
}
