/** What a person decides on at a gate, as the console shows it beside the buttons: the kind's evidence, then the analysis and the ready report. */
import { genericSections } from './evidence';
import type { Section } from './panel';
import { panelOf } from './panels';
import type { UpgradeView } from './upgradeView';

export function gateEvidence(u: UpgradeView): Section[] {
  return [...panelOf(u.kind).sections(u), ...genericSections(u)].filter((s) => s.evidence);
}
