/**
 * The upgrade workflow's public messages. Each steering action exists as a
 * signal (fire-and-forget, for the Temporal CLI and UI) and as an update with
 * a validator (an atomic yes or no, for the API). Imported by clients too.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { UpgradeState } from '../domain/upgrade';

export interface SteeringRequest {
  /** Who asks: an API principal, or whatever the CLI user types. */
  by: string;
  reason: string;
  /** The principal's roles as the API knows them: an approval gate's policy names the roles that may approve there. */
  roles?: string[];
}

export interface SteeringResult {
  accepted: true;
  status: UpgradeState['status'];
}

export const approveSignal = defineSignal<[SteeringRequest]>('approve');
export const rollbackSignal = defineSignal<[SteeringRequest]>('rollback');
export const abortSignal = defineSignal<[SteeringRequest]>('abort');

export const approveUpdate = defineUpdate<SteeringResult, [SteeringRequest]>('approve');
export const rollbackUpdate = defineUpdate<SteeringResult, [SteeringRequest]>('rollback');
export const abortUpdate = defineUpdate<SteeringResult, [SteeringRequest]>('abort');

/** A release says whether it is ready (POST /v1/targets/:target/releases/:release/ready). */
export interface ReadyRequest {
  release: string;
  ready: boolean;
  detail?: string;
  by: string;
}

export const reportReadyUpdate = defineUpdate<SteeringResult, [ReadyRequest]>('reportReady');

export const stateQuery = defineQuery<UpgradeState>('state');
