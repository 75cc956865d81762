/**
 * The kinds' panels, one module each, registered here as the kinds are in
 * src/domain/kinds.ts: typed by the registry, so a kind without a panel
 * fails the type check, and nothing else in the CLI or the console names a kind.
 */
import type { Kind } from '../../domain/kindRegistry';
import type { KindPanel } from '../panel';
import { emqxPanel } from './emqx';
import { kongPanel } from './kong';
import { projectionPanel } from './projection';

const PANELS: Record<Kind, KindPanel> = {
  emqx: emqxPanel,
  kong: kongPanel,
  projection: projectionPanel,
};

/** A kind this client does not know (a newer server) shows no panel of its own. */
const NONE: KindPanel = { title: '', sections: () => [], line: () => undefined };

export const panelOf = (kind: string): KindPanel => (Object.hasOwn(PANELS, kind) ? PANELS[kind as Kind] : NONE);
