/**
 * The upgrade workflow's public messages. Each steering action exists as a
 * signal (fire-and-forget, for the Temporal CLI and UI) and as an update with
 * a validator (an atomic yes or no, for the API). Imported by clients too.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SteeringSignature } from '../domain/steering';
import type { UpgradeState } from '../domain/upgrade';

export interface SteeringRequest {
  /** Who asks: an API principal, or whatever the CLI user types (believed only when the API signed it). */
  by: string;
  reason: string;
  /** The API's signature (src/config/steeringKeys.ts); absent when sent straight to Temporal. */
  signature?: SteeringSignature;
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
  /** The API's signature, as on a SteeringRequest. */
  signature?: SteeringSignature;
}

export const reportReadyUpdate = defineUpdate<SteeringResult, [ReadyRequest]>('reportReady');

export const stateQuery = defineQuery<UpgradeState>('state');

/** The ApplicationFailure type of a request refused because the API did not sign it (or its signature does not verify). */
export const UNSIGNED_FAILURE = 'UnsignedRequest';
