/**
 * The outside world of the scripted strategy, in the test process: effects are
 * applied idempotently (as real activities must be), every attempt is logged,
 * and a test can make a step fail, hold it until released, or read its blue.
 * Key `traffic` is the router: its changes that give green traffic fail or
 * wait (sending all traffic back to blue, the undo, never does).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { createSkeletonActivities } from '../../src/activities';
import type { BlueWorkload } from '../../src/domain/platform';
import type { Step } from '../../src/domain/upgrade';
import { TEST_STEERING_KEYS } from './steering';

/** A step, or `traffic`: the router weights' changes towards green. */
export type ScriptedKey = Step | 'traffic';

/** The release every scripted upgrade starts from. */
const blueOf = (target: string): string => `${target}-1-0-0`;

/** How often a held step's activity heartbeats. */
export const HOLD_BEAT_MS = 200;

export interface EffectRequest {
  target: string;
  step: Step;
  action: 'do' | 'undo';
}

/**
 * With a journal file the world outlives a worker process, so a test can kill
 * one worker and check that its successor applies nothing twice.
 */
export class ScriptedWorld {
  private readonly memory = { effects: [] as EffectRequest[], attempts: [] as EffectRequest[] };

  constructor(private readonly journal?: string) {}

  /** Effects applied, in order, each at most once. */
  get effects(): EffectRequest[] {
    return this.read('effects');
  }

  /** Every activity attempt, including retries and repeats after a worker died. */
  get attempts(): EffectRequest[] {
    return this.read('attempts');
  }

  private read(kind: 'effects' | 'attempts'): EffectRequest[] {
    if (!this.journal) return this.memory[kind];
    const file = `${this.journal}.${kind}`;
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as EffectRequest);
  }

  private write(kind: 'effects' | 'attempts', req: EffectRequest): void {
    if (this.journal) appendFileSync(`${this.journal}.${kind}`, `${JSON.stringify(req)}\n`);
    else this.memory[kind].push(req);
  }
  private readonly failing = new Map<string, string>();
  private readonly undoFailures = new Map<string, { times: number; message: string; nonRetryable: boolean }>();
  private readonly held = new Map<string, { started: boolean; beats: number; release?: () => void; released: Promise<void>; ignoreCancel: boolean }>();
  private readonly weightLog = new Map<string, Record<string, number>[]>();

  /** Router weights applied to a target, in order (repeats of the same weights are not logged). */
  weightsOf(target: string): Record<string, number>[] {
    return this.weightLog.get(target) ?? [];
  }

  /** The step's undo fails `times` times (Infinity: always), then succeeds; nonRetryable stops its retries at once. */
  failUndo(target: string, step: Step, message: string, times: number, nonRetryable = false): void {
    this.undoFailures.set(`${target}/${step}`, { times, message, nonRetryable });
  }

  effectsOf(target: string): string[] {
    return this.effects.filter((e) => e.target === target).map((e) => `${e.action} ${e.step}`);
  }

  /** The step fails on every attempt with this message. */
  fail(target: string, step: ScriptedKey, message: string): void {
    this.failing.set(`${target}/${step}`, message);
  }

  /** The step's activity heartbeats without finishing until release() (or cancellation). */
  hold(target: string, step: ScriptedKey, opts: { ignoreCancel?: boolean } = {}): { started: () => boolean; release: () => void; beats: () => number } {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const entry = { started: false, beats: 0, release, released, ignoreCancel: opts.ignoreCancel ?? false };
    this.held.set(`${target}/${step}`, entry);
    return { started: () => entry.started, release, beats: () => entry.beats };
  }

  /** A held step heartbeats until released, or until cancelled (unless it ignores cancellation, as a step that swallows it would). */
  private async waitIfHeld(key: string): Promise<void> {
    const hold = this.held.get(key);
    if (!hold) return;
    hold.started = true;
    const ctx = Context.current();
    const beat = setInterval(() => {
      hold.beats++;
      ctx.heartbeat();
    }, HOLD_BEAT_MS);
    try {
      await (hold.ignoreCancel ? hold.released : Promise.race([hold.released, ctx.cancelled]));
    } finally {
      clearInterval(beat);
    }
  }

  /** A step's effect (or a traffic change) about to be applied: held or failed as the test said. */
  private async doing(key: string): Promise<void> {
    await this.waitIfHeld(key);
    const message = this.failing.get(key);
    if (message) throw ApplicationFailure.retryable(message, 'ScriptedFailure');
  }

  /** The scripted steps' activities, and the skeleton's own (who requested a cancellation, who sent a request) on the worker's client. */
  activities(temporal: Client) {
    return {
      ...createSkeletonActivities(temporal, TEST_STEERING_KEYS),
      readTarget: async ({ target }: { target: string }): Promise<BlueWorkload> => {
        await this.waitIfHeld(`${target}/plan`);
        return { name: blueOf(target), version: '1.0.0', image: 'scripted:1.0.0', replicas: 1 };
      },
      setWeights: async ({ target, weights }: { target: string; weights: Record<string, number> }): Promise<{ changed: boolean }> => {
        if (Object.entries(weights).some(([release, weight]) => weight > 0 && release !== blueOf(target))) await this.doing(`${target}/traffic`);
        const log = this.weightLog.get(target) ?? [];
        this.weightLog.set(target, log);
        const changed = JSON.stringify(log[log.length - 1]) !== JSON.stringify(weights);
        if (changed) log.push(weights);
        return { changed };
      },
      applyEffect: async (req: EffectRequest): Promise<void> => {
        this.write('attempts', req);
        const key = `${req.target}/${req.step}`;
        if (req.action === 'do') await this.doing(key);
        const undoFailure = this.undoFailures.get(key);
        if (undoFailure && req.action === 'undo' && undoFailure.times > 0) {
          undoFailure.times--;
          throw ApplicationFailure.create({ message: undoFailure.message, type: 'ScriptedUndoFailure', nonRetryable: undoFailure.nonRetryable });
        }
        if (!this.effects.some((e) => e.target === req.target && e.step === req.step && e.action === req.action)) {
          this.write('effects', req);
        }
      },
    };
  }
}

export type ScriptedActivities = ReturnType<ScriptedWorld['activities']>;
