/** One upgrade, followed live (its state read every second until it ends). */
import { useRef } from 'react';
import { genericSections } from '../../../src/view/evidence';
import { panelOf } from '../../../src/view/panels';
import { trafficSeries, type TrafficPoint } from '../../../src/view/traffic';
import { hasEnded, type UpgradeView } from '../../../src/view/upgradeView';
import { getUpgrade, type Me } from '../api';
import { Gates } from '../components/Gates';
import { PhaseMachine } from '../components/PhaseMachine';
import { Sections } from '../components/Sections';
import { Steps } from '../components/Steps';
import { Timeline } from '../components/Timeline';
import { TrafficChart } from '../components/TrafficChart';
import { usePolling } from '../usePolling';

/** The plan's steps and the weights this page saw, in time order. */
function useTraffic(u: UpgradeView | undefined): TrafficPoint[] {
  const seen = useRef<TrafficPoint[]>([]);
  if (!u) return [];
  const last = seen.current[seen.current.length - 1];
  if (!last || last.green !== u.traffic.green) seen.current.push({ at: new Date().toISOString(), green: u.traffic.green });
  return [...trafficSeries(u), ...seen.current].sort((a, b) => a.at.localeCompare(b.at));
}

/** action: the button whose form opens at once (a notification's approve or roll-back link), where the principal and the upgrade allow it. */
export function Upgrade({ id, me, action }: { id: string; me: Me; action?: string }) {
  const { data: u, error } = usePolling(() => getUpgrade(id), 1_000, id, hasEnded);
  const traffic = useTraffic(u);
  if (!u) return <p className={error ? 'bad' : 'muted'}>{error ?? 'loading…'}</p>;
  const panel = panelOf(u.kind);
  const sections = [...panel.sections(u), ...genericSections(u)];
  return (
    <article className="upgrade">
      <header>
        <h2>
          {u.upgradeId} <span className={`status ${u.status}`} data-testid="status">{u.status}</span>
          {u.execution !== 'RUNNING' && u.execution !== 'COMPLETED' ? <span className="status FAILED"> {u.execution}</span> : null}
        </h2>
        <p>
          {u.kind} {u.releases.blue?.version ?? '?'} → {u.version}, requested by {u.requestedBy} at {new Date(u.startedAt).toLocaleString()}
          {u.links.temporalUi ? (
            <>
              {' · '}
              <a href={u.links.temporalUi} target="_blank" rel="noreferrer">
                the run in the Temporal UI
              </a>
            </>
          ) : null}
        </p>
        <p className="waiting" data-testid="waiting-for">
          {hasEnded(u) ? 'Outcome' : 'Waiting for'}: {u.waitingFor}
        </p>
        {error ? <p className="bad">{error} (retrying)</p> : null}
      </header>
      <Steps upgrade={u} />
      <div className="columns">
        <div>
          <Gates upgrade={u} me={me} evidence={sections.filter((s) => s.evidence)} opened={action} />
          <PhaseMachine upgrade={u} />
          <TrafficChart points={traffic} />
        </div>
        <div>
          {panel.title ? <h3>{panel.title}</h3> : null}
          <Sections sections={sections.filter((s) => !s.evidence)} />
          <Timeline upgrade={u} />
        </div>
      </div>
    </article>
  );
}
