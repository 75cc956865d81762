/** The history budget counts notifications: each delivery's activity, and at every gate the evidence it carries. */
import { estimateHistory } from '../../src/domain/historyBudget';
import { NOTIFICATION_EVENTS } from '../../src/domain/notifications';
import { completeInput, type RecordedUpgradeInput } from '../../src/domain/upgradeSettings';

const input = (notifications?: RecordedUpgradeInput['notifications']) =>
  completeInput({ kind: 'emqx', target: 'orders', version: '2.0.0', requestedBy: 'alice', options: { approval: 'manual', approveBefore: ['promote', 'finalize'] }, notifications } as RecordedUpgradeInput);

test('a sink of every event adds a delivery per event, and one per gate for awaiting-approval', () => {
  const none = estimateHistory(input());
  const all = estimateHistory(input([{ sink: 'ops', events: [...NOTIFICATION_EVENTS] }]));
  // six events once each, awaiting-approval at each of the two gates: 8 deliveries of 7 events
  expect(all.events - none.events).toBe(8 * 7);
  expect(all.bytes).toBeGreaterThan(none.bytes + 8 * 7 * 500);
  const twoSinks = estimateHistory(input([{ sink: 'ops', events: [...NOTIFICATION_EVENTS] }, { sink: 'chat', events: ['awaiting-approval'] }]));
  expect(twoSinks.events - all.events).toBe(2 * 7);
});
