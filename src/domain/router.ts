/**
 * The traffic router port: what sends a target's clients to its releases in
 * the shares asked for. One module per router (src/activities/routers/),
 * chosen by the target's configuration; the skeleton's setWeights reaches
 * them through one activity, which writes the weights and then checks them
 * against what the router says it serves, read back from the router (Argo
 * Rollouts' SetWeight and VerifyWeight). Pure: the rules a write and its
 * check follow.
 */
import type { OwnedCall } from './ownership';

/** Weight by release name; a release absent or at 0 gets nothing. */
export type ReleaseWeights = Record<string, number>;

/** What a router serves now, read from the router itself, never from cutover's own record. */
export interface RouterReading {
  /** Each release's weight as the router has it: relative (a Gateway's backendRef weights need not sum to 100). */
  weights: ReleaseWeights;
  /** Weights on backends that are no release cutover knows (the user's own Service before the first upgrade), by their own name. */
  unknown?: ReleaseWeights;
  /** What the router says of its own state, where it says anything: a controller's conditions, the config nginx's workers run. */
  readiness?: string;
}

export interface TrafficRouter {
  /** What it is, for messages: `HTTPRoute emqx in namespace mqtt of target 'orders'`. */
  readonly name: string;
  read(): Promise<RouterReading>;
  /**
   * Sends each release its weight (each above 0, summing to 100): releases
   * left out get nothing. The same weights again change nothing. With an
   * owner, only the target's releases are routed to. Answers what the router
   * serves afterwards, read back from it.
   */
  write(weights: ReleaseWeights, owner?: string): Promise<{ changed: boolean; served: RouterReading }>;
}

export interface SetWeightsResult {
  changed: boolean;
  /** Each release's share in percent as the router serves it after the write, read back: the weights asked for. */
  served: ReleaseWeights;
  readiness?: string;
}

/** The one activity through which the strategies and the skeleton move traffic, whatever the router. */
export interface TrafficActivities {
  /**
   * Router weights by release name, summing to 100; a release absent or at 0
   * gets nothing. Applying the same weights again changes nothing. Fails
   * (retried) if the router, read back, serves anything else.
   */
  setWeights(i: OwnedCall & { weights: ReleaseWeights }): Promise<SetWeightsResult>;
}

/** Why weights cannot be written, or undefined: whole numbers from 0, summing to 100. */
export function weightsProblem(weights: ReleaseWeights): string | undefined {
  const values = Object.values(weights);
  if (values.some((w) => !Number.isInteger(w) || w < 0)) return `weights must be whole numbers from 0, got ${JSON.stringify(weights)}`;
  if (values.reduce((a, b) => a + b, 0) !== 100) return `weights must sum to 100, got ${JSON.stringify(weights)}`;
  return undefined;
}

/** The releases that get traffic, at their weights (those at 0 left out). */
export function positive(weights: ReleaseWeights): ReleaseWeights {
  return Object.fromEntries(Object.entries(weights).filter(([, w]) => w > 0));
}

/** Each release's share in percent (two decimals) of what the router sends anywhere; those at 0 left out. */
export function shares(weights: ReleaseWeights): ReleaseWeights {
  const served = positive(weights);
  const total = Object.values(served).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries(served).map(([release, w]) => [release, Math.round((w * 10_000) / total) / 100]));
}

/** How what the router serves differs from the weights written, or undefined if it serves them. */
export function disagreement(asked: ReleaseWeights, served: RouterReading): string | undefined {
  const want = shares(asked);
  const unknown = Object.fromEntries(Object.entries(served.unknown ?? {}).map(([name, w]) => [`${name} (no release)`, w]));
  const got = shares({ ...served.weights, ...unknown });
  const releases = [...new Set([...Object.keys(want), ...Object.keys(got)])];
  if (releases.every((r) => want[r] === got[r])) return undefined;
  const describe = (w: ReleaseWeights) => Object.entries(w).map(([r, p]) => `${r} ${p}%`).join(', ') || 'nothing';
  return `it serves ${describe(got)}, not ${describe(want)}`;
}

/**
 * What a running nginx offers the router of an upstream it owns: the
 * upstream's block in an include file of its own, which nginx's config
 * includes in its stream {} or http {} block.
 */
export interface NginxControl {
  /** Which nginx, for messages. */
  readonly name: string;
  /**
   * Replaces the owned upstream's include file with text if nginx's test of
   * its whole config passes with it (else the old file stays and this
   * fails), reloads, and resolves once nginx's workers run it. The same text
   * again changes nothing.
   */
  applyOwned(upstream: string, text: string): Promise<{ changed: boolean }>;
  /** The owned upstream's text as nginx's workers run it now, and which config that is; undefined if they run none with it. */
  servedOwned(upstream: string): Promise<{ text: string; config: string } | undefined>;
}
