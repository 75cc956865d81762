/**
 * The gates and the buttons that act on the upgrade, each shown only to the
 * roles that may use it (a viewer sees none), enabled only when the upgrade
 * can take it; each asks for the reason the history records. The evidence a
 * person decides on is beside them. A notification's link opens a button's
 * form at once (`?action=approve`).
 */
import { useState } from 'react';
import { stepMarks } from '../../../src/view/steps';
import { hasEnded, type UpgradeView } from '../../../src/view/upgradeView';
import type { Section } from '../../../src/view/panel';
import { steer, type Me } from '../api';
import { Sections } from './Sections';

type Action = 'approve' | 'rollback' | 'abort';

const ACTIONS: { action: Action; label: string; role: string; can: (u: UpgradeView) => boolean }[] = [
  { action: 'approve', label: 'Approve', role: 'approver', can: (u) => u.status === 'AWAITING_APPROVAL' },
  { action: 'rollback', label: 'Roll back', role: 'operator', can: (u) => !hasEnded(u) && u.status !== 'ROLLING_BACK' && !u.pointOfNoReturnPassed },
  { action: 'abort', label: 'Abort', role: 'operator', can: (u) => !hasEnded(u) && u.status !== 'ROLLING_BACK' },
];

export function Gates({ upgrade, me, evidence, opened }: { upgrade: UpgradeView; me: Me; evidence: Section[]; opened?: string }) {
  const [asking, setAsking] = useState<Action | undefined>(() => ACTIONS.find((a) => a.action === opened && me.roles.includes(a.role) && a.can(upgrade))?.action);
  const [reason, setReason] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string }>();
  const mine = ACTIONS.filter((a) => me.roles.includes(a.role));
  const gates = stepMarks(upgrade).flatMap((m) => m.gates.map((g) => ({ step: m.step, ...g })));

  const send = async () => {
    if (!asking || !reason.trim()) return;
    try {
      const r = await steer(upgrade.upgradeId, asking, reason.trim());
      setResult({ ok: true, text: `${asking} accepted (by ${r.by})` });
      setAsking(undefined);
      setReason('');
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message });
    }
  };

  return (
    <section className="gates" data-testid="gates">
      <h3>Gates</h3>
      <ul>
        {gates.map((g, i) => (
          <li key={i} className={g.waiting ? 'waiting' : ''}>
            <span className="tag gate">gate</span> {g.step}: {g.waiting ? <b>waiting: {g.why}</b> : g.approvedBy ? `approved by ${g.approvedBy}: ${g.why}` : g.why}
          </li>
        ))}
        <li className={upgrade.pointOfNoReturnPassed ? 'passed' : ''}>
          <span className="tag ponr">no return</span> finalize is the point of no return: {upgrade.pointOfNoReturnPassed ? 'passed, rollback is refused' : 'not passed, rollback possible'}
        </li>
      </ul>
      {mine.length ? (
        <div className="actions">
          {mine.map((a) => (
            <button key={a.action} className={a.action} disabled={!a.can(upgrade)} onClick={() => (setAsking(a.action), setResult(undefined))}>
              {a.label}
            </button>
          ))}
        </div>
      ) : null}
      {asking ? (
        <form
          className="reason"
          onSubmit={(e) => {
            e.preventDefault();
            void send();
          }}
        >
          <label>
            Why {asking === 'rollback' ? 'roll back' : asking}? (recorded in the history)
            <textarea value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500} autoFocus />
          </label>
          <button type="submit" disabled={!reason.trim()}>
            Confirm {asking}
          </button>
          <button type="button" onClick={() => setAsking(undefined)}>
            Cancel
          </button>
        </form>
      ) : null}
      {result ? <p className={result.ok ? 'ok' : 'bad'} role="status">{result.text}</p> : null}
      {evidence.length ? (
        <div className="evidence">
          <h4>Evidence</h4>
          <Sections sections={evidence} />
        </div>
      ) : null}
    </section>
  );
}
