/** cutover upgrade TARGET VERSION --plan: the preview of the upgrade a start would make, nothing started. */
import type { UpgradePreview } from '../../domain/preview';
import { previewSections, previewTitle } from '../../view/preview';
import type { ApiClient } from '../client';
import { EXIT } from '../exitCodes';
import { print, type Io } from '../io';
import { paint, section } from '../text';

export async function plan(api: ApiClient, io: Io, body: object): Promise<number> {
  const preview = await api.request<UpgradePreview>({ method: 'POST', path: '/v1/upgrades?dryRun=true', body, role: 'operator' });
  print(io, preview, () => [paint(io.style, 'bold', previewTitle(preview)), ...previewSections(preview).flatMap((s) => ['', ...section(io.style, s)])]);
  return EXIT.ok;
}
