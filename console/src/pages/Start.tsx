/**
 * Start an upgrade (operators): the target, the version, options as JSON and
 * a reason; first its preview (POST /v1/upgrades?dryRun=true, refused as the
 * start would be), then the start button, for exactly what was previewed.
 */
import { useState } from 'react';
import type { UpgradePreview } from '../../../src/domain/preview';
import { previewSections, previewTitle } from '../../../src/view/preview';
import { getTargets, previewUpgrade, startUpgrade } from '../api';
import { Sections } from '../components/Sections';
import { navigate } from '../router';
import { usePolling } from '../usePolling';

export function Start() {
  const targets = usePolling(getTargets, 60_000, 'targets');
  const [form, setForm] = useState({ target: '', version: '', options: '', reason: '' });
  const [preview, setPreview] = useState<{ of: string; p: UpgradePreview }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const target = form.target || targets.data?.targets[0]?.name || '';
  const kind = targets.data?.targets.find((t) => t.name === target)?.kind;

  /** The request the form says, or why it cannot be one. */
  const request = () => {
    const options = form.options.trim() ? (JSON.parse(form.options) as object) : undefined;
    return { kind, target, version: form.version.trim(), ...(options ? { options } : {}), ...(form.reason.trim() ? { reason: form.reason.trim() } : {}) };
  };
  const act = async (what: 'preview' | 'start') => {
    setError(undefined);
    setBusy(true);
    try {
      const body = request();
      if (what === 'preview') setPreview({ of: JSON.stringify(body), p: await previewUpgrade(body) });
      else navigate(`/upgrades/${(await startUpgrade(body)).id}`);
    } catch (err) {
      setError((err as Error).message);
      if (what === 'preview') setPreview(undefined);
    } finally {
      setBusy(false);
    }
  };
  const set = (field: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [field]: e.target.value });
  let current: string | undefined;
  try {
    current = JSON.stringify(request());
  } catch {
    current = undefined;
  }

  return (
    <section className="start">
      <form onSubmit={(e) => (e.preventDefault(), void act('preview'))}>
        <label>
          Target{' '}
          <select value={target} onChange={set('target')}>
            {targets.data?.targets.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name} ({t.kind})
              </option>
            ))}
          </select>
        </label>
        <label>
          Version <input value={form.version} onChange={set('version')} required placeholder="5.8.0" />
        </label>
        <label>
          Options (JSON) <textarea value={form.options} onChange={set('options')} placeholder='{"approval": "manual", "standbyWindow": "10m"}' />
        </label>
        <label>
          Reason <input value={form.reason} onChange={set('reason')} maxLength={500} />
        </label>
        <button type="submit" disabled={busy || !form.version.trim()}>
          Preview
        </button>
        <button type="button" className="approve" disabled={busy || !preview || preview.of !== current} onClick={() => void act('start')}>
          Start
        </button>
      </form>
      {error ? (
        <p className="bad" data-testid="start-error">
          {error}
        </p>
      ) : null}
      {preview ? (
        <div data-testid="preview">
          <h2>{previewTitle(preview.p)}</h2>
          {preview.of !== current ? <p className="warn">The form changed since this preview: preview again to start.</p> : null}
          <Sections sections={previewSections(preview.p)} />
        </div>
      ) : null}
    </section>
  );
}
