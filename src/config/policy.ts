/**
 * A target's policy (config file: `policy:` for every target, `targets[].policy`
 * for one, merged field by field over the built-in policy): what a request's
 * options may change, the image repositories green may use, the hosts http
 * checks may reach, and who may approve at each gate. The built-in policy
 * already refuses every way around the configuration's approvals; loosening it
 * takes a change of the config file, never a request. A request outside its
 * target's policy is refused (403) naming the option and the policy field.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { MAX_DURATION, formatDuration, parseDuration } from '../domain/duration';
import { fillTemplate, type AnalysisCheck } from '../domain/analysis';
import { kindModule, kindModules, type Kind } from '../domain/kindRegistry';
import { APPROVAL_GATES, type OptionMode, type UpgradePolicy } from '../domain/policy';
import { Duration } from '../domain/schemas';
import { GATED_STEPS, type GatedStep, type UpgradeOptions } from '../domain/upgrade';
import { isAllAtOnce } from '../domain/upgradeSettings';
import { durationsIn } from './bounds';
import { hostPatternProblem, hostRules, portOf } from './httpHosts';
import { UpgradeOptionsInput } from './options';
import type { FieldProblem } from './schemaErrors';

/** The request's options, the configuration's alone (kind, file and target defaults), and both merged. */
interface Compared {
  request: UpgradeOptionsInput;
  configured: UpgradeOptions;
  final: UpgradeOptions;
}

/** Where a request's value is less strict than the configuration's: the option's field and why. */
type Loosening = { field: string; why: string } | undefined;

interface Policed {
  modes: readonly OptionMode[];
  default: OptionMode;
  /** For tighten: whether the request's value loosens what the configuration says. */
  loosens?: (c: Compared) => Loosening;
}

const ANY = ['allow', 'tighten', 'deny'] as const;
/** Options that make an upgrade neither skip a person nor a check: a request sets them within the bounds. */
const FREE: Policed = { modes: ['allow', 'deny'], default: 'allow' };

/** A gate's auto-promotion delay, if the options ask for that gate at all. */
function autoPromotion(o: UpgradeOptions, step: GatedStep): number | undefined {
  return o.approveBefore.includes(step) ? o.gates[step].autoPromoteAfterMs : undefined;
}

function sooner(c: Compared, step: GatedStep, field: string): Loosening {
  const [configured, final] = [autoPromotion(c.configured, step), autoPromotion(c.final, step)];
  if (final === undefined || (configured !== undefined && final >= configured)) return undefined;
  const why = configured === undefined ? 'the configuration waits for a person there' : `sooner than the configuration's ${formatDuration(configured)}`;
  return { field, why: `approves the ${step} gate by itself after ${formatDuration(final)}: ${why}` };
}

const dropped = <T>(configured: readonly T[], final: readonly T[]) => configured.filter((x) => !final.includes(x));

const NAMED: Record<Exclude<keyof UpgradeOptionsInput, Kind>, Policed> = {
  approval: {
    modes: ANY,
    default: 'tighten',
    loosens: ({ request, configured }) =>
      request.approval === 'auto' && configured.approval === 'manual' ? { field: 'approval', why: 'auto skips the approval the configuration asks for (manual)' } : undefined,
  },
  autoPromoteAfter: { modes: ANY, default: 'tighten', loosens: (c) => (c.request.autoPromoteAfter === undefined ? undefined : sooner(c, 'promote', 'autoPromoteAfter')) },
  gates: {
    modes: ANY,
    default: 'tighten',
    loosens: (c) => GATED_STEPS.map((s) => (c.request.gates?.[s]?.autoPromoteAfter === undefined ? undefined : sooner(c, s, `gates.${s}.autoPromoteAfter`))).find(Boolean),
  },
  approveBefore: {
    modes: ANY,
    default: 'tighten',
    loosens: ({ request, configured, final }) => {
      const gone = request.approveBefore ? dropped(configured.approveBefore, final.approveBefore) : [];
      return gone.length ? { field: 'approveBefore', why: `drops the approval before ${gone.join(' and ')} that the configuration asks for` } : undefined;
    },
  },
  traffic: {
    modes: ANY,
    default: 'tighten',
    loosens: ({ request, configured, final }) =>
      request.traffic !== undefined && !isAllAtOnce(configured.traffic) && JSON.stringify(final.traffic) !== JSON.stringify(configured.traffic)
        ? { field: 'traffic', why: `replaces the configuration's plan of ${configured.traffic.length} steps (a request may give a plan only where the configuration moves all traffic at once)` }
        : undefined,
  },
  verifyAnalysis: {
    modes: ANY,
    default: 'tighten',
    loosens: ({ request, configured, final }) => {
      const names = (o: UpgradeOptions) => o.verifyAnalysis.map((c) => c.name);
      const gone = request.verifyAnalysis ? dropped(names(configured), names(final)) : [];
      return gone.length ? { field: 'verifyAnalysis', why: `drops the checks ${gone.join(', ')} that the configuration runs at verify` } : undefined;
    },
  },
  waitForReadyReport: {
    modes: ANY,
    default: 'tighten',
    loosens: ({ request, configured }) =>
      request.waitForReadyReport === false && configured.waitForReadyReport ? { field: 'waitForReadyReport', why: 'skips the ready report the configuration waits for' } : undefined,
  },
  standbyWindow: {
    modes: ANY,
    default: 'allow',
    loosens: ({ request, configured, final }) =>
      request.standbyWindow !== undefined && final.standbyWindowMs < configured.standbyWindowMs
        ? { field: 'standbyWindow', why: `is shorter than the configuration's ${formatDuration(configured.standbyWindowMs)}` }
        : undefined,
  },
  // Checks only a request defines: what they query (and, for http, where they reach) is the requester's to choose.
  analysis: { modes: ['allow', 'deny'], default: 'deny' },
  stepTimeouts: FREE,
  maxAttempts: FREE,
  rollbackTimeout: FREE,
};

const POLICED = { ...NAMED, ...Object.fromEntries(kindModules().map((k) => [k.kind, FREE])) } as Record<keyof UpgradeOptionsInput, Policed>;

export const RoleName = Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$', description: 'a role: lowercase letters, digits and dashes' });

const ApprovalRuleInput = Type.Object(
  {
    roles: Type.Optional(Type.Array(RoleName, { minItems: 1, maxItems: 20, uniqueItems: true, description: 'the approver needs one of these roles (default [approver])' })),
    requireDistinctApprover: Type.Optional(
      Type.Boolean({ description: 'four-eyes: the principal who started the upgrade may not approve here, and the gate never auto-promotes (default false)' }),
    ),
  },
  { additionalProperties: false },
);

export const PolicyInput = Type.Object(
  {
    options: Type.Optional(
      Type.Object(
        Object.fromEntries(
          Object.entries(POLICED).map(([k, p]): [string, TSchema] => [k, Type.Optional(Type.Union(p.modes.map((m) => Type.Literal(m)), { description: `default ${p.default}` }))]),
        ),
        { additionalProperties: false, description: 'per option of a request: allow (any value within the bounds), tighten (only stricter than the configuration), deny' },
      ),
    ),
    standbyWindow: Type.Optional(
      Type.Object({ min: Type.Optional(Duration), max: Type.Optional(Duration) }, { additionalProperties: false, description: 'the standby window a request may ask for (default 30s to 30d)' }),
    ),
    maxDuration: Type.Optional({ ...Duration, description: `the longest duration a request may give (default, and at most, ${MAX_DURATION})` }),
    images: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z0-9*][a-z0-9._*/:-]{0,254}$', description: 'an image repository such as registry.example.com/emqx/emqx; * within a path part, ** across parts' }), {
        maxItems: 100,
        description: "image repositories a request's image may name (default none: green takes blue's repository, tagged with the version)",
      }),
    ),
    httpHosts: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 100, description: 'hosts http analysis checks may reach: names (* within a label, optional :port), addresses, CIDR blocks (default none)' }),
    ),
    approvals: Type.Optional(
      Type.Object(Object.fromEntries(APPROVAL_GATES.map((g) => [g, Type.Optional(ApprovalRuleInput)])), {
        additionalProperties: false,
        description: 'who may approve at each gate: promote (before traffic moves), trafficStep (during the traffic plan), finalize (after it)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type PolicyInput = Static<typeof PolicyInput>;

export const BUILTIN_POLICY: UpgradePolicy = {
  options: Object.fromEntries(Object.entries(POLICED).map(([k, p]) => [k, p.default])),
  standbyWindow: { min: '30s', max: MAX_DURATION },
  maxDuration: MAX_DURATION,
  images: [],
  httpHosts: [],
  approvals: Object.fromEntries(APPROVAL_GATES.map((g) => [g, { roles: ['approver'], requireDistinctApprover: false }])) as UpgradePolicy['approvals'],
};

/** The built-in policy with the file's and the target's over it, field by field. */
function resolvePolicy(...layers: (PolicyInput | undefined)[]): UpgradePolicy {
  const p = structuredClone(BUILTIN_POLICY);
  for (const layer of layers) {
    if (!layer) continue;
    Object.assign(p.options, layer.options);
    Object.assign(p.standbyWindow, layer.standbyWindow);
    if (layer.maxDuration !== undefined) p.maxDuration = layer.maxDuration;
    if (layer.images) p.images = layer.images;
    if (layer.httpHosts) p.httpHosts = layer.httpHosts;
    for (const g of APPROVAL_GATES) Object.assign(p.approvals[g], layer.approvals?.[g]);
  }
  return p;
}

/** A target's policy: the built-in one, the file's over it, the target's over both. */
export function policyFor(config: { policy?: PolicyInput }, target: { policy?: PolicyInput }): UpgradePolicy {
  return resolvePolicy(config.policy, target.policy);
}

/** A target's options from its configuration alone (the kind's defaults, the file's, the target's): what a request is compared with. */
export function configuredLayers(config: { defaults?: UpgradeOptionsInput }, target: { kind: Kind; defaults?: UpgradeOptionsInput }): UpgradeOptionsInput[] {
  return [(kindModule(target.kind).defaults ?? {}) as UpgradeOptionsInput, config.defaults ?? {}, target.defaults ?? {}];
}

/** What UpgradeOptions.requireDistinctApprover (from before policies) says: four-eyes at some gate. */
export function distinctAnywhere(policy: UpgradePolicy): boolean {
  return Object.values(policy.approvals).some((r) => r.requireDistinctApprover);
}

/** An image's repository in full (docker.io/library/ added as Docker does), without tag or digest. */
function imageRepository(image: string): string {
  const name = image.split('@')[0];
  const colon = name.lastIndexOf(':');
  const repo = (colon > name.lastIndexOf('/') ? name.slice(0, colon) : name).toLowerCase();
  const [first, ...rest] = repo.split('/');
  if (rest.length && (/[.:]/.test(first) || first === 'localhost')) return repo;
  return `docker.io/${rest.length ? '' : 'library/'}${repo}`;
}

function imageAllowed(patterns: readonly string[], image: string): boolean {
  const repo = imageRepository(image);
  return patterns.some((p) => {
    const glob = imageRepository(p)
      .split('**')
      .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
      .join('.*');
    return new RegExp(`^${glob}$`).test(repo);
  });
}

export interface PolicyRefusal {
  field: string;
  message: string;
}

/** One refusal's words: the field, the target, the policy's field that forbids it, and why. */
const refusal = (field: string, target: string, rule: string, why: string): PolicyRefusal => ({
  field,
  message: `${field} is forbidden by the policy of target ${target} (${rule}): ${why}`,
});

/**
 * Why a request's options or image are outside its target's policy (the
 * first reason), or undefined. `configured` is what the configuration alone
 * gives, `final` the upgrade's options with the request's over it.
 */
export function policyRefusal(policy: UpgradePolicy, target: string, body: { options?: UpgradeOptionsInput; image?: string }, configured: UpgradeOptions, final: UpgradeOptions): PolicyRefusal | undefined {
  const refuse = (field: string, rule: string, why: string) => refusal(field, target, rule, why);
  const request = body.options ?? {};
  for (const key of Object.keys(request) as (keyof UpgradeOptionsInput)[]) {
    if (request[key] === undefined) continue;
    const mode = (policy.options[key] ?? POLICED[key].default) as OptionMode;
    if (mode === 'deny') return refuse(`options.${key}`, `policy.options.${key}: deny`, 'a request may not set it');
    const loose = mode === 'tighten' ? POLICED[key].loosens?.({ request, configured, final }) : undefined;
    if (loose) return refuse(`options.${loose.field}`, `policy.options.${key}: tighten`, loose.why);
  }
  if (request.standbyWindow !== undefined) {
    const { min, max } = policy.standbyWindow;
    if (final.standbyWindowMs < parseDuration(min) || final.standbyWindowMs > parseDuration(max)) {
      return refuse('options.standbyWindow', `policy.standbyWindow: ${min} to ${max}`, `${request.standbyWindow} is outside`);
    }
  }
  const longest = parseDuration(policy.maxDuration);
  const long = durationsIn(UpgradeOptionsInput, request, 'options').find((d) => d.ms > longest);
  if (long) return refuse(long.field, `policy.maxDuration: ${policy.maxDuration}`, `${long.text} is longer`);
  for (const step of GATED_STEPS) {
    if (!policy.approvals[step].requireDistinctApprover || autoPromotion(final, step) === undefined) continue;
    const field = request.gates?.[step]?.autoPromoteAfter !== undefined || step !== 'promote' ? `options.gates.${step}.autoPromoteAfter` : 'options.autoPromoteAfter';
    return refuse(field, `policy.approvals.${step}.requireDistinctApprover`, `the ${step} gate needs a second person: it never approves by itself`);
  }
  if (body.image !== undefined && !imageAllowed(policy.images, body.image)) {
    const allowed = policy.images.length ? policy.images.join(', ') : "none: green takes blue's repository, tagged with the version";
    return refuse('image', `policy.images: ${allowed}`, `${imageRepository(body.image)} is not an allowed repository`);
  }
  return undefined;
}

/** The http checks the upgrade runs, each with the field that names it. */
function httpChecks(o: UpgradeOptions): { field: string; check: AnalysisCheck }[] {
  return [
    ...o.verifyAnalysis.map((check, i) => ({ field: `options.verifyAnalysis[${i}]`, check })),
    ...o.traffic.flatMap((s, i) => s.analysis.map((check, j) => ({ field: `options.traffic[${i}].analysis[${j}]`, check }))),
  ].filter((c) => c.check.provider === 'http' && c.check.url !== undefined);
}

/**
 * An http check whose URL, its placeholders filled in, leads to a host the
 * policy does not allow. Blue is not known before plan: {{blue}} is checked
 * as <target>-blue; the provider checks every request again.
 */
export function httpHostRefusal(policy: UpgradePolicy, target: string, green: string, final: UpgradeOptions): PolicyRefusal | undefined {
  const rules = hostRules(policy.httpHosts);
  const vars = { target, release: green, green, blue: `${target}-blue` };
  for (const { field, check } of httpChecks(final)) {
    let url: URL | undefined;
    try {
      url = new URL(fillTemplate(check.url!, vars, encodeURIComponent));
    } catch {
      url = undefined;
    }
    if (!url || !rules.allowsHost(url.hostname, portOf(url))) {
      const where = url ? url.host : 'its URL';
      const allowed = policy.httpHosts.length ? policy.httpHosts.join(', ') : 'none';
      return refusal(field, target, `policy.httpHosts: ${allowed}`, `check ${check.name} reaches ${where}, which is not allowed`);
    }
  }
  return undefined;
}

/** What a policy of the file says wrong by itself: its patterns, its bounds, roles nobody has. */
export function policyProblems(policy: PolicyInput | undefined, field: string, roles: ReadonlySet<string>): FieldProblem[] {
  if (!policy) return [];
  const problems: FieldProblem[] = [];
  policy.images?.forEach((p, i) => {
    if (p.includes('@')) problems.push({ field: `${field}.images[${i}]`, message: `'${p}' is a repository: leave the digest out` });
  });
  policy.httpHosts?.forEach((p, i) => {
    const problem = hostPatternProblem(p);
    if (problem) problems.push({ field: `${field}.httpHosts[${i}]`, message: problem });
  });
  const { min, max } = policy.standbyWindow ?? {};
  if (min !== undefined && max !== undefined && parseDuration(min) > parseDuration(max)) {
    problems.push({ field: `${field}.standbyWindow`, message: `min ${min} is above max ${max}` });
  }
  for (const g of APPROVAL_GATES) {
    const none = (policy.approvals?.[g]?.roles ?? []).filter((r) => !roles.has(r));
    if (none.length) problems.push({ field: `${field}.approvals.${g}.roles`, message: `no API token has the role ${none.join(', ')}: nobody could approve at the ${g} gate` });
  }
  return problems;
}

/** Where a target's own configuration already breaks its policy: its standby window, an auto-promotion four-eyes forbids. */
export function configuredProblems(policy: UpgradePolicy, configured: UpgradeOptions, field: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { min, max } = policy.standbyWindow;
  if (configured.standbyWindowMs < parseDuration(min) || configured.standbyWindowMs > parseDuration(max)) {
    problems.push({ field: `${field}.policy.standbyWindow`, message: `the configured standby window ${formatDuration(configured.standbyWindowMs)} is outside ${min} to ${max}` });
  }
  for (const step of GATED_STEPS) {
    const after = autoPromotion(configured, step);
    if (policy.approvals[step].requireDistinctApprover && after !== undefined) {
      problems.push({
        field: `${field}.policy.approvals.${step}.requireDistinctApprover`,
        message: `forbids auto-promotion, but the configured options approve the ${step} gate by itself after ${formatDuration(after)}`,
      });
    }
  }
  return problems;
}
