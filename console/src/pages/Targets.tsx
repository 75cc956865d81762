/** The targets, each with what serves it now (as its platform runs it) and its latest upgrade. */
import { getTarget, getTargets, getUpgrades, type TargetSummary } from '../api';
import { Link } from '../router';
import { usePolling } from '../usePolling';

function Serving({ target }: { target: TargetSummary }) {
  const { data, error } = usePolling(() => getTarget(target.name), 30_000, target.name);
  if (error && !data) return <span className="bad">{error}</span>;
  if (!data) return <span className="muted">…</span>;
  const serving = data.releases.filter((r) => r.serving);
  return (
    <span data-testid={`serving-${target.name}`}>
      {serving.length ? serving.map((r) => `${r.name} (${r.version ?? '?'}) ${r.weight}%`).join(', ') : 'nothing serves'}
      {data.releases.some((r) => r.orphan) ? <span className="warn"> · orphans: {data.releases.filter((r) => r.orphan).map((r) => r.name).join(', ')}</span> : null}
    </span>
  );
}

export function Targets() {
  const targets = usePolling(getTargets, 30_000, 'targets');
  const upgrades = usePolling(() => getUpgrades({}), 5_000, 'upgrades');
  if (targets.error) return <p className="bad">{targets.error}</p>;
  return (
    <table className="list">
      <thead>
        <tr>
          <th>target</th>
          <th>kind</th>
          <th>serving</th>
          <th>latest upgrade</th>
          <th>description</th>
        </tr>
      </thead>
      <tbody>
        {targets.data?.targets.map((t) => {
          const latest = upgrades.data?.upgrades.find((u) => u.target === t.name);
          return (
            <tr key={t.name}>
              <td>{t.name}</td>
              <td>{t.kind}</td>
              <td>
                <Serving target={t} />
              </td>
              <td>{latest ? <Link to={`/upgrades/${latest.id}`}>{latest.status ?? latest.execution}</Link> : 'none'}</td>
              <td>{t.description}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
