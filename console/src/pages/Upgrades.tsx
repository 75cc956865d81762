/** The upgrades, newest first, filtered by status. */
import { STATUSES } from '../../../src/domain/status';
import { getUpgrades } from '../api';
import { Link, navigate } from '../router';
import { usePolling } from '../usePolling';

export function Upgrades({ status }: { status: string }) {
  const { data, error } = usePolling(() => getUpgrades(status ? { status } : {}), 3_000, `upgrades-${status}`);
  return (
    <>
      <label className="filter">
        Status{' '}
        <select value={status} onChange={(e) => navigate(`/upgrades${e.target.value ? `?status=${e.target.value}` : ''}`)}>
          <option value="">all</option>
          {STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      {error ? <p className="bad">{error}</p> : null}
      <table className="list">
        <thead>
          <tr>
            <th>upgrade</th>
            <th>target</th>
            <th>kind</th>
            <th>status</th>
            <th>started</th>
            <th>ended</th>
          </tr>
        </thead>
        <tbody>
          {data?.upgrades.map((u) => (
            <tr key={u.id}>
              <td>
                <Link to={`/upgrades/${u.id}`}>{u.id}</Link>
              </td>
              <td>{u.target}</td>
              <td>{u.kind}</td>
              <td className={`status ${u.status}`}>
                {u.status}
                {u.execution !== 'RUNNING' && u.execution !== 'COMPLETED' ? ` (${u.execution})` : ''}
              </td>
              <td>{new Date(u.startedAt).toLocaleString()}</td>
              <td>{u.closedAt ? new Date(u.closedAt).toLocaleString() : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && !data.upgrades.length ? <p>No upgrades{status ? ` with status ${status}` : ''}.</p> : null}
    </>
  );
}
