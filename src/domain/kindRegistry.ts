/**
 * The kind registry. A kind is a module per layer (settings here, activities
 * in src/activities/<kind>/, a strategy in src/workflows/strategies/<kind>.ts);
 * each layer's table is typed Record<Kind, …>, so a kind missing from a layer
 * fails the type check. The skeleton, the API and the config name no kind.
 */
import type { Static } from '@sinclair/typebox';
import { emqxKind } from './emqx';
import { kongKind } from './kong';
import type { KindModule } from './kindModule';
import { projectionKind } from './projection';

const MODULES = {
  emqx: emqxKind,
  projection: projectionKind,
  kong: kongKind,
} as const satisfies Record<string, KindModule>;

type Modules = typeof MODULES;
export type Kind = keyof Modules;

/** A kind's block of a request's options (options.<kind>), as its schema says. */
export type KindOptions<K extends Kind> = Static<Modules[K]['options']>;
/** A kind's settings as the workflow gets them: complete, durations in milliseconds. */
export type KindSettings<K extends Kind> = ReturnType<Modules[K]['toSettings']>;
/** What an upgrade's input may hold of a kind's settings, inputs recorded before they were complete included. */
export type RecordedKindSettings<K extends Kind> = Parameters<Modules[K]['completeSettings']>[0];
/** What a kind's plan found on a target, as its strategy's planned(facts) reads it from plan's facts for the kind's preview. */
export type KindPlanned<K extends Kind> = Parameters<Modules[K]['preview']>[0]['planned'];

/**
 * Each kind's module, typed by its kind, so that generic code reaching a kind
 * through KIND_MODULES[kind] keeps that kind's options and settings types.
 */
export const KIND_MODULES: { readonly [K in Kind]: KindModule<Modules[K]['access'], Modules[K]['options'], KindSettings<K>, RecordedKindSettings<K>, KindPlanned<K>> & Modules[K] } = MODULES;

export const KINDS = Object.keys(KIND_MODULES) as Kind[];
export const kindModules = (): KindModule[] => Object.values(KIND_MODULES);
export const kindModule = (kind: Kind): KindModule => KIND_MODULES[kind];

export function isKind(value: string): value is Kind {
  return Object.hasOwn(KIND_MODULES, value);
}
