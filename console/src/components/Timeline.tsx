/** The transitions, newest first: when, who, what changed, why (the upgrade's audit log). */
import type { UpgradeView } from '../../../src/view/upgradeView';

export function Timeline({ upgrade }: { upgrade: UpgradeView }) {
  return (
    <section className="timeline">
      <h3>Timeline</h3>
      <ol>
        {[...upgrade.transitions].reverse().map((t, i) => (
          <li key={upgrade.transitions.length - i} className={t.what}>
            <time dateTime={t.at}>{new Date(t.at).toLocaleTimeString()}</time> <b>{t.by}</b> {t.what}{' '}
            {t.release ? <small>{t.release} </small> : null}
            {t.from || t.to ? `${t.from ?? ''} → ${t.to ?? ''}` : ''} <span className="why">{t.why}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
