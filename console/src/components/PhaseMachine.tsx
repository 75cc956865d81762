/** Each release's way through the phase machine: the phases it went through (with when), the one it is in. */
import { PHASES } from '../../../src/domain/phases';
import type { UpgradeView } from '../../../src/view/upgradeView';

export function PhaseMachine({ upgrade }: { upgrade: UpgradeView }) {
  return (
    <section className="phases">
      <h3>Phases</h3>
      <table>
        <thead>
          <tr>
            <th>release</th>
            {PHASES.map((p) => (
              <th key={p}>{p.replace('_', ' ')}</th>
            ))}
            <th>traffic</th>
          </tr>
        </thead>
        <tbody>
          {(['blue', 'green'] as const).map((role) => {
            const r = upgrade.releases[role];
            if (!r) return null;
            // a release's first phase has no transition (blue served before the upgrade): its since says when
            const entered = new Map([[r.phase as string, r.since], ...upgrade.transitions.filter((t) => t.what === 'phase' && t.release === r.name && t.to).map((t) => [t.to!, t.at] as [string, string])]);
            return (
              <tr key={role} data-testid={`phases-${role}`}>
                <th>
                  {role} {r.version}
                  <small className="name">{r.name}</small>
                </th>
                {PHASES.map((p) => (
                  <td key={p} data-phase={p} className={p === r.phase ? 'current' : entered.has(p) ? 'visited' : ''} title={entered.get(p)}>
                    {p === r.phase ? '●' : entered.has(p) ? '✓' : ''}
                    {entered.get(p) ? <small> {new Date(entered.get(p)!).toLocaleTimeString()}</small> : null}
                  </td>
                ))}
                <td>{upgrade.traffic[role]}%</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
