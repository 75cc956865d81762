/** The skeleton's steps: done, running, where it stopped; gates and the point of no return tagged; the current step's progress. */
import { stepMarks, stepNumber, stepProgress } from '../../../src/view/steps';
import type { UpgradeView } from '../../../src/view/upgradeView';

export function Steps({ upgrade }: { upgrade: UpgradeView }) {
  const progress = stepProgress(upgrade);
  return (
    <section className="steps">
      <ol>
        {stepMarks(upgrade).map((m) => (
          <li key={m.step} className={m.state} title={[...m.gates.map((g) => `gate: ${g.why}${g.approvedBy ? ` (approved by ${g.approvedBy})` : ''}`), m.pointOfNoReturn ? 'the point of no return: rollback is refused from here' : ''].filter(Boolean).join('\n')}>
            {m.step}
            {m.gates.length ? <span className="tag gate">gate</span> : null}
            {m.pointOfNoReturn ? <span className="tag ponr">no return</span> : null}
          </li>
        ))}
      </ol>
      <p>
        {stepNumber(upgrade)} {upgrade.step ?? ''}
        {progress ? (
          <>
            {' '}
            <progress max={1} value={progress.fraction} /> {progress.label}
          </>
        ) : null}
      </p>
    </section>
  );
}
