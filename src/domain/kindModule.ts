/** What a kind (emqx, kong, projection) tells the rest of cutover about itself; see kinds.ts for the registry. */
import type { TSchema, Static } from '@sinclair/typebox';

export interface KindModule<Access extends TSchema = TSchema, Options extends TSchema = TSchema> {
  kind: string;
  /** One line for GET /v1/targets and the OpenAPI. */
  description: string;
  /** The target's `<kind>:` block in the config file: how the worker reaches the system (secrets by reference). */
  access: Access;
  /** The request's `options.<kind>`: the kind's own upgrade settings, with defaults and descriptions. */
  options: Options;
  /** options.<kind> in the workflow's units (UpgradeOptions.settings[kind]): only what was given. */
  toSettings(options: Static<Options>): Record<string, unknown>;
  /**
   * Why an upgrade of this kind to `version` can never run (outside the kind's
   * support matrix), or undefined: the API answers 400 on field `version` with
   * it before anything starts. What needs the running system (blue's version,
   * the edition) is checked again at plan.
   */
  versionProblem?(version: string): string | undefined;
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
