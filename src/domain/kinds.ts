/**
 * The kind registry. A kind is a module per layer (settings here, activities
 * in src/activities/<kind>/, a strategy in src/workflows/strategies/<kind>.ts);
 * each layer's table is typed Record<Kind, …>, so a kind missing from a layer
 * fails the type check. The skeleton, the API and the config name no kind.
 */
import { emqxKind } from './emqx';
import { kongKind } from './kong';
import type { KindModule } from './kindModule';
import { projectionKind } from './projection';

export const KIND_MODULES = {
  emqx: emqxKind,
  projection: projectionKind,
  kong: kongKind,
} as const satisfies Record<string, KindModule>;

export type Kind = keyof typeof KIND_MODULES;
export const KINDS = Object.keys(KIND_MODULES) as Kind[];
export const kindModules = (): KindModule[] => Object.values(KIND_MODULES);
export const kindModule = (kind: Kind): KindModule => KIND_MODULES[kind];

export function isKind(value: string): value is Kind {
  return Object.hasOwn(KIND_MODULES, value);
}
