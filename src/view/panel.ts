/**
 * What a kind shows of its own progress, as data: the CLI draws it as text,
 * the console as HTML. A kind's panel reads the state's `details` (what its
 * strategy reported, and its live heartbeat), never the API's internals.
 */
import type { UpgradeView } from './upgradeView';

export type Tone = 'ok' | 'warn' | 'bad' | 'muted';

export interface Cell {
  text: string;
  tone?: Tone;
}

export interface Row {
  label: string;
  value: string;
  tone?: Tone;
}

export interface Section {
  title: string;
  rows?: Row[];
  table?: { columns: string[]; rows: Cell[][] };
  /** Shown beside a gate's buttons: what a person decides on. */
  evidence?: boolean;
}

/** How far the current step is, where it can be measured. */
export interface StepProgress {
  /** 0 to 1. */
  fraction: number;
  label: string;
}

export interface KindPanel {
  title: string;
  sections(u: UpgradeView): Section[];
  /** One line of the kind's progress for a log of changes; undefined when it has nothing to say. */
  line(u: UpgradeView): string | undefined;
  /** The current step's progress, where the kind measures it. */
  progress?(u: UpgradeView): StepProgress | undefined;
}

/** Objects of a details entry, whatever the run wrote (runs of older versions may lack fields). */
export const records = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null) : [];

export const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

export const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
