/** What a kind (emqx, kong, projection) tells the rest of cutover about itself; see kindRegistry.ts for the registry. */
import type { TSchema, Static } from '@sinclair/typebox';
import type { KindPreview, KindPreviewInput } from './kindPreview';

/**
 * Settings: the kind's settings as the workflow gets them (complete, durations
 * in milliseconds); Recorded: what an upgrade's input may hold of them,
 * inputs recorded before settings were complete included. Planned: what the
 * kind's plan found on a target, as its strategy's planned(facts) gives it to a
 * preview.
 */
export interface KindModule<Access extends TSchema = TSchema, Options extends TSchema = TSchema, Settings extends object = object, Recorded = Partial<Settings>, Planned = unknown> {
  kind: string;
  /** One line for GET /v1/targets and the OpenAPI. */
  description: string;
  /** The target's `<kind>:` block in the config file: how the worker reaches the system (secrets by reference). */
  access: Access;
  /** The request's `options.<kind>`: the kind's own upgrade settings, with defaults and descriptions. */
  options: Options;
  /** options.<kind>, its layers merged, as the workflow gets it (UpgradeInput.settings[kind]): every default applied, durations in milliseconds. */
  toSettings(options: Static<Options>): Settings;
  /**
   * The settings an input holds, complete, with the same defaults as
   * toSettings: the workflow upcasts with it an input recorded before settings
   * were complete (in a history, an upgrade in flight), which holds only what
   * was given, in the units of then.
   */
  completeSettings(recorded: Recorded): Settings;
  /**
   * Why an upgrade of this kind to `version` can never run (outside the kind's
   * support matrix), or undefined: the API answers 400 on field `version` with
   * it before anything starts. What needs the running system (blue's version,
   * the edition) is checked again at plan.
   */
  versionProblem?(version: string): string | undefined;
  /** What a preview says the kind's steps do on a target, from the settings and what plan found there. */
  preview(p: KindPreviewInput<Settings, Planned>): KindPreview;
  /** Upgrade options this kind brings when neither the request nor the config says otherwise. */
  defaults?: Record<string, unknown>;
  /** The upgrade npm start prints for the kind's sandbox: a version its stand-in knows, options that finish in minutes. */
  sandboxUpgrade?: { version: string; options: Record<string, unknown>; note?: string };
  /** The loopback ports its local sandbox listens on (`local.ports` in the config). */
  localPorts: readonly string[];
  /** Progress a long-running activity heartbeats, shown by GET …/upgrades/:id under details[key] while it runs (not in the history). */
  liveDetails?: LiveDetails;
}

export interface LiveDetails {
  /** The activity's type name. */
  activity: string;
  /** Where its last heartbeat goes in the state's details. */
  key: string;
}
