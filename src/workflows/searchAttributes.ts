/** Search attributes the workflow keeps current, so Temporal visibility lists and filters upgrades. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TARGET = defineSearchAttributeKey('CutoverTarget', SearchAttributeType.KEYWORD);
export const KIND = defineSearchAttributeKey('CutoverKind', SearchAttributeType.KEYWORD);
export const STATUS = defineSearchAttributeKey('CutoverStatus', SearchAttributeType.KEYWORD);
/** The green release's phase: how far the new release has come. */
export const PHASE = defineSearchAttributeKey('CutoverPhase', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [TARGET, KIND, STATUS, PHASE];
