/**
 * What a kind tells a preview (POST /v1/upgrades?dryRun=true) about its own
 * steps on one target: what each of its handlers does there, what its undo
 * puts back, how long it takes at least and what it waits for whose time no
 * one can know in advance. Built from the settings and from what the kind's
 * plan found on the target (Planned: its strategy's planned(facts), from what plan returned).
 */
import type { Step } from './steps';

/** A release by name and version (upgrade.ts's ReleaseRef, which this file cannot import: the registry imports it). */
interface Release {
  name: string;
  version: string;
}

/** Blue as plan read it. */
export interface BlueFound extends Release {
  replicas: number;
}

export interface KindPreviewInput<Settings, Planned> {
  target: string;
  settings: Settings;
  /** What the kind's plan decided from the target (its strategy's planned(facts)). */
  planned: Planned;
  blue: BlueFound;
  green: Release;
  image?: string;
}

export interface KindStep {
  /** What the step does on this target, in one or two sentences. */
  does: string;
  /** What rolling back undoes of it. */
  undo?: string;
  /** The least time the step takes by the settings (timers, rates), in milliseconds. */
  atLeastMs?: number;
  /** What it waits for whose duration depends on the target (pods starting, a replay). */
  waitsFor?: string;
}

export interface KindPreview {
  /** Green's replicas, which run beside blue's from deployGreen until cleanUpBlue removes blue. */
  greenReplicas: number;
  /** What plan found, in one line (versions, what the upgrade will do about it). */
  found?: string;
  /** The kind's handler of each step it has one for. */
  steps: Partial<Record<Step, KindStep>>;
}

/** "1 node", "3 nodes". */
export const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
