/** cutover upgrade TARGET VERSION --plan: the preview of the upgrade a start would make, nothing started. */
import type { UpgradePreview } from '../../domain/preview';
import { previewSections, previewTitle } from '../../view/preview';
import type { ApiClient } from '../client';
import { EXIT } from '../exitCodes';
import { print, type Io } from '../io';
import { paint, section } from '../text';

/** The worker reads the target as plan does (its reads retried for 20 s, a Kong migrations Job on Kubernetes): up to the API's own limit of 90 s. */
const PLAN_TIMEOUT_MS = 90_000;

export async function plan(api: ApiClient, io: Io, body: object): Promise<number> {
  const preview = await api.request<UpgradePreview>({ method: 'POST', path: '/v1/upgrades?dryRun=true', body, role: 'operator', timeoutMs: PLAN_TIMEOUT_MS });
  print(io, preview, () => [paint(io.style, 'bold', previewTitle(preview)), ...previewSections(preview).flatMap((s) => ['', ...section(io.style, s)])]);
  return EXIT.ok;
}
