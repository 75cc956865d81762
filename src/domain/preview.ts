/**
 * The preview of an upgrade (POST /v1/upgrades?dryRun=true): what it would do
 * on its target, built from its input (the settings a start would give the
 * workflow) and what its kind's plan found there, run read-only by the
 * previewUpgrade workflow. The skeleton's part is here; each kind says what
 * its own steps do (src/domain/<kind>/preview.ts). The schema is the API's
 * answer, so OpenAPI lists it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { measuringMs, type AnalysisCheck } from './analysis';
import { formatDuration } from './duration';
import { HISTORY_BUDGET, estimateHistory } from './historyBudget';
import { count, type BlueFound, type KindPreview, type KindStep } from './kindPreview';
import { kindModule, type Kind, type KindPlanned } from './kindRegistry';
import { approvalGateAt, approvalRule, type ApprovalGate } from './policy';
import { POINT_OF_NO_RETURN, STEPS, type GatedStep, type Step } from './steps';
import type { ReleaseRef, UpgradeInput } from './upgrade';
import { isAllAtOnce } from './upgradeSettings';

/** What the previewUpgrade workflow found: blue and green, which steps the kind's strategy handles (and undoes), what its plan decided. */
export interface PlanFound<K extends Kind = Kind> {
  blue: BlueFound;
  green: ReleaseRef;
  handled: Step[];
  undone: Step[];
  planned: KindPlanned<K>;
}

/** Why plan refused: its own check (reading false: the target's state or version), or a call to the target that failed (reading true). */
export interface PlanRefused {
  refused: { message: string; type?: string; reading: boolean };
}

export type PlanOutcome = PlanFound | PlanRefused;

const Ms = (description: string) => Type.Integer({ minimum: 0, description: `${description}, in milliseconds` });
const Release = Type.Object({ name: Type.String(), version: Type.String(), replicas: Type.Integer({ minimum: 0 }) });

const Approvers = {
  roles: Type.Array(Type.String(), { description: 'the approver needs one of these roles' }),
  requireDistinctApprover: Type.Boolean({ description: 'four-eyes: the principal who starts the upgrade may not approve here, and the gate never approves by itself' }),
};

const GatePreview = Type.Object({
  step: Type.String({ description: 'the step the upgrade waits in' }),
  before: Type.String({ description: 'what the approval lets go on' }),
  ...Approvers,
  autoPromoteAfterMs: Type.Optional(Ms('approves by itself after this long')),
  timeoutMs: Type.Optional(Ms('rolls back without an approval after this long')),
  when: Type.Optional(Type.String({ description: 'only if this happens; absent: always' })),
});

const StepPreview = Type.Object({
  number: Type.Integer({ minimum: 1 }),
  step: Type.String(),
  does: Type.String({ description: 'what the step does on this target' }),
  gate: Type.Boolean({ description: 'a person may have to approve in this step (see gates)' }),
  pointOfNoReturn: Type.Boolean({ description: 'rollback is refused from this step on' }),
  undo: Type.Optional(Type.String({ description: 'what a rollback undoes of it' })),
  atLeastMs: Ms('the least time it takes by the settings'),
  waitsFor: Type.Optional(Type.String({ description: 'what it waits for whose time depends on the target or a person' })),
});

const CheckPreview = Type.Object({
  name: Type.String(),
  provider: Type.String(),
  query: Type.Optional(Type.String()),
  url: Type.Optional(Type.String()),
  successCondition: Type.Optional(Type.String()),
  failureCondition: Type.Optional(Type.String()),
  measuringMs: Ms('how long its measurements take'),
  onInconclusive: Type.String({ description: 'pause: a person decides; fail: the upgrade rolls back' }),
  where: Type.Array(Type.String(), { description: 'where it runs: verify, traffic step 1 (10%), …' }),
});

export const UpgradePreview = Type.Object({
  dryRun: Type.Literal(true, { description: 'nothing was started' }),
  target: Type.String(),
  kind: Type.String(),
  version: Type.String(),
  image: Type.Optional(Type.String()),
  requestedBy: Type.String(),
  blue: Release,
  green: Release,
  found: Type.Optional(Type.String({ description: "what the kind's plan found on the target" })),
  steps: Type.Array(StepPreview, { description: 'the steps in order' }),
  traffic: Type.Object({
    allAtOnce: Type.Boolean(),
    steps: Type.Array(
      Type.Object({ weight: Type.Integer(), pauseMs: Type.Optional(Ms('pause after the weight is set')), analysis: Type.Array(Type.String()), approve: Type.Boolean() }),
      { description: "green's weight step by step, each followed by its pause, its analysis checks and its approval" },
    ),
    checks: Type.Array(CheckPreview),
  }),
  gates: Type.Array(GatePreview, { description: 'where a person approves, and who may' }),
  pointOfNoReturn: Type.Object({ step: Type.String(), does: Type.String(), rollback: Type.String({ description: 'what rollback can do before and after it' }) }),
  compensations: Type.Array(Type.Object({ step: Type.String(), undo: Type.String() }), { description: 'what a rollback before the point of no return undoes, in the order it runs them' }),
  capacity: Type.Object({
    blueReplicas: Type.Integer(),
    greenReplicas: Type.Integer(),
    replicasAtOnce: Type.Integer({ description: "both releases' replicas, from green's creation until blue's removal" }),
    from: Type.String(),
    until: Type.String(),
    atLeastMs: Ms('the least time both run, by the settings'),
    plus: Type.Array(Type.String(), { description: 'what adds time no setting bounds: pods starting, a replay, a person' }),
  }),
  history: Type.Object({
    events: Type.Integer({ description: 'worst case: every analysis inconclusive, every gate waited at, a rollback at the end' }),
    bytes: Type.Integer(),
    payloadBytes: Type.Integer(),
    budget: Type.Object({ events: Type.Integer(), bytes: Type.Integer(), payloadBytes: Type.Integer() }),
  }),
});
export type UpgradePreview = Static<typeof UpgradePreview>;
type GatePreview = Static<typeof GatePreview>;

/** The steps from green's creation to blue's removal: both releases run meanwhile. */
const BOTH_RUN: readonly Step[] = STEPS.slice(STEPS.indexOf('deployGreen'));

const d = formatDuration;

export function previewOf(input: UpgradeInput, found: PlanFound): UpgradePreview {
  const o = input.options;
  const { blue, green } = found;
  const kind: KindPreview = kindModule(input.kind).preview({
    target: input.target,
    settings: (input.settings as Record<string, object>)[input.kind],
    planned: found.planned,
    blue,
    green,
    image: input.image,
  });
  const own = (step: Step): KindStep | undefined => (found.handled.includes(step) ? kind.steps[step] : undefined);
  const gates = gatesOf(input);
  const traffic = o.traffic.map((s, i) => ({ ...s, label: `traffic step ${i + 1} (${s.weight}%)` }));
  const skeleton: Partial<Record<Step, KindStep>> = {
    plan: { does: `read what serves ${input.target}: ${blue.name} (${blue.version}, ${count(blue.replicas, 'replica')})${kind.found ? `; ${kind.found}` : ''}` },
    gate: { does: gateText(gates.find((g) => g.step === 'gate' && !g.when), 'promote') },
    promote: {
      does: isAllAtOnce(o.traffic)
        ? `all traffic to ${green.name} at once; ${blue.name} STANDING_BY`
        : `${green.name}'s share of traffic: ${traffic.map(trafficText).join('; then ')}; at 100% ${blue.name} STANDING_BY`,
      undo: `all traffic back on ${blue.name}, which serves again`,
      atLeastMs: o.traffic.reduce((sum, s) => sum + (s.pauseMs ?? 0) + s.analysis.reduce((t, c) => t + measuringMs(c), 0), 0),
    },
    standBy: { does: `${blue.name} stands by for ${d(o.standbyWindowMs)}: a rollback until then is instant`, atLeastMs: o.standbyWindowMs },
  };
  const steps = STEPS.map((step, i) => {
    const mine = skeleton[step];
    const theirs = own(step);
    // in the order they happen: finalize's gate, then the point of no return, then the kind's work
    const does = [
      mine?.does,
      step === 'finalize' ? gateText(gates.find((g) => g.step === 'finalize'), 'finalize') : undefined,
      step === POINT_OF_NO_RETURN ? 'the point of no return: rollback is refused from here' : undefined,
      step === 'cleanUpBlue' ? `${blue.name} CLEANING_UP` : undefined,
      theirs?.does,
      step === 'deployGreen' ? `${green.name} INITIALISING` : undefined,
      step === 'waitReady' && o.waitForReadyReport ? `then wait for ${green.name} to report ready (POST /v1/targets/${input.target}/releases/${green.name}/ready)` : undefined,
      step === 'verify' && o.verifyAnalysis.length ? `analysis ${o.verifyAnalysis.map((c) => c.name).join(', ')}` : undefined,
      step === 'cleanUpBlue' ? `${blue.name} OBSOLETE` : undefined,
    ].filter((t): t is string => !!t);
    // from the point of no return on, rollback is refused: nothing there is undone
    const undoable = i < STEPS.indexOf(POINT_OF_NO_RETURN);
    const undo = !undoable ? undefined : step === 'promote' ? mine?.undo : found.undone.includes(step) ? (theirs?.undo ?? `undo what ${step} did`) : undefined;
    const atLeastMs = (mine?.atLeastMs ?? 0) + (theirs?.atLeastMs ?? 0) + (step === 'verify' ? o.verifyAnalysis.reduce((t, c) => t + measuringMs(c), 0) : 0);
    const here = gates.filter((g) => g.step === step);
    const maybe = here.filter((g) => g.when).length;
    const waitsFor = [
      theirs?.waitsFor,
      ...here.filter((g) => !g.when).map(waitText),
      maybe ? `a person's approval wherever an analysis is inconclusive (${maybe} ${maybe === 1 ? 'place' : 'places'}, under gates)` : undefined,
    ].filter((t): t is string => !!t);
    return {
      number: i + 1,
      step,
      does: does.length ? does.join('; ') : `nothing on ${input.kind} targets`,
      gate: gates.some((g) => g.step === step),
      pointOfNoReturn: step === POINT_OF_NO_RETURN,
      ...(undo ? { undo } : {}),
      atLeastMs,
      ...(waitsFor.length ? { waitsFor: waitsFor.join('; ') } : {}),
    };
  });
  const both = steps.filter((s) => BOTH_RUN.includes(s.step));
  const estimate = estimateHistory(input);
  return {
    dryRun: true,
    target: input.target,
    kind: input.kind,
    version: input.version,
    ...(input.image ? { image: input.image } : {}),
    requestedBy: input.requestedBy,
    blue,
    green: { ...green, replicas: kind.greenReplicas },
    ...(kind.found ? { found: kind.found } : {}),
    steps,
    traffic: {
      allAtOnce: isAllAtOnce(o.traffic),
      steps: o.traffic.map((s) => ({ weight: s.weight, ...(s.pauseMs ? { pauseMs: s.pauseMs } : {}), analysis: s.analysis.map((c) => c.name), approve: !!s.approve })),
      checks: checksOf(o.verifyAnalysis, traffic),
    },
    gates,
    pointOfNoReturn: {
      step: POINT_OF_NO_RETURN,
      does: steps.find((s) => s.step === POINT_OF_NO_RETURN)!.does,
      rollback: `until ${POINT_OF_NO_RETURN} starts, a rollback undoes what was done, last first; from then on it is refused, and an abort only stops the clean-up of ${blue.name}`,
    },
    compensations: steps
      .filter((s) => s.undo)
      .reverse()
      .map((s) => ({ step: s.step, undo: s.undo! })),
    capacity: {
      blueReplicas: blue.replicas,
      greenReplicas: kind.greenReplicas,
      replicasAtOnce: blue.replicas + kind.greenReplicas,
      from: 'deployGreen',
      until: 'cleanUpBlue',
      atLeastMs: both.reduce((sum, s) => sum + s.atLeastMs, 0),
      plus: both.flatMap((s) => (s.waitsFor ? [`${s.step}: ${s.waitsFor}`] : [])),
    },
    history: { ...estimate, budget: { ...HISTORY_BUDGET } },
  };
}

/** Every place a person may have to approve, with the policy's rule there. */
function gatesOf(input: UpgradeInput): GatePreview[] {
  const o = input.options;
  const rule = (gate: ApprovalGate) => {
    const { roles, requireDistinctApprover } = approvalRule(input, gate);
    return { roles, requireDistinctApprover };
  };
  const gated = (before: GatedStep, step: Step): GatePreview[] =>
    o.approveBefore.includes(before) ? [{ step, before, ...rule(before), ...o.gates[before] }] : [];
  const inconclusive = (checks: AnalysisCheck[], step: Step, where: string): GatePreview[] =>
    checks
      .filter((c) => c.onInconclusive === 'pause')
      .map((c) => ({ step, before: `continuing past the inconclusive analysis ${c.name}`, ...rule(approvalGateAt(step)), when: `analysis ${c.name} is inconclusive at ${where}` }));
  return [
    ...inconclusive(o.verifyAnalysis, 'verify', 'verify'),
    ...gated('promote', 'gate'),
    ...o.traffic.flatMap((s, i) => {
      const label = `traffic step ${i + 1} (${s.weight}%)`;
      return [
        ...inconclusive(s.analysis, 'promote', label),
        ...(s.approve ? [{ step: 'promote', before: `the next traffic step after ${label}`, ...rule('trafficStep') }] : []),
      ];
    }),
    ...gated('finalize', 'finalize'),
  ];
}

function trafficText(s: { weight: number; pauseMs?: number; analysis: AnalysisCheck[]; approve?: boolean }): string {
  return `${s.weight}%${s.pauseMs ? `, pause ${d(s.pauseMs)}` : ''}${s.analysis.length ? `, analysis ${s.analysis.map((c) => c.name).join(' and ')}` : ''}${s.approve ? ', approval' : ''}`;
}

function approversText(g: GatePreview): string {
  return `${g.roles.length ? `role ${g.roles.join(' or ')}` : 'any approver'}${g.requireDistinctApprover ? ', not who started it' : ''}`;
}

/** The gate's part of its step ('' where none is asked before finalize). */
function gateText(g: GatePreview | undefined, before: GatedStep): string {
  if (!g) return before === 'promote' ? 'no approval asked before promote' : '';
  return `wait for an approval before ${before} (${approversText(g)})${g.autoPromoteAfterMs !== undefined ? `, approved by itself after ${d(g.autoPromoteAfterMs)}` : ''}${g.timeoutMs !== undefined ? `, rolled back without one after ${d(g.timeoutMs)}` : ''}`;
}

function waitText(g: GatePreview): string {
  return `a person's approval before ${g.before} (${approversText(g)})${g.autoPromoteAfterMs !== undefined ? `, or ${d(g.autoPromoteAfterMs)}` : ''}`;
}

/** Each check once, with every place it runs. */
function checksOf(verify: AnalysisCheck[], traffic: { analysis: AnalysisCheck[]; label: string }[]): Static<typeof CheckPreview>[] {
  const byName = new Map<string, Static<typeof CheckPreview>>();
  const add = (c: AnalysisCheck, where: string) => {
    const known = byName.get(c.name);
    if (known) return void known.where.push(where);
    byName.set(c.name, {
      name: c.name,
      provider: c.provider,
      ...(c.query ? { query: c.query } : {}),
      ...(c.url ? { url: c.url } : {}),
      ...(c.successCondition ? { successCondition: c.successCondition } : {}),
      ...(c.failureCondition ? { failureCondition: c.failureCondition } : {}),
      measuringMs: measuringMs(c),
      onInconclusive: c.onInconclusive,
      where: [where],
    });
  };
  for (const c of verify) add(c, 'verify');
  for (const s of traffic) for (const c of s.analysis) add(c, s.label);
  return [...byName.values()];
}
