/**
 * Kong: the migrations (the plan, each `up` / `finish` and what `list` said
 * after it), the Admin API freeze, green's readiness and smoke requests, the
 * weights with green's error rate and p99 latency as the traffic plan's
 * analysis measured them, and blue's drain.
 */
import { formatValue } from '../evidence';
import { num, record, records, str, type KindPanel, type Row, type Section } from '../panel';
import type { UpgradeView } from '../upgradeView';

/** Kong's default checks between traffic steps (src/domain/kong: error-rate and latency of green). */
const MEASURED = [
  { check: 'error-rate', label: "green's error rate", format: (v: number) => `${formatValue(v * 100)}%` },
  { check: 'latency', label: "green's p99 latency", format: (v: number) => `${formatValue(v)} ms` },
];

const subsystems = (v: unknown): string =>
  records(v)
    .map((s) => `${str(s.subsystem) ?? '?'} ${(Array.isArray(s.migrations) ? s.migrations : []).join(' ')}`)
    .join(', ') || 'none';

function planText(plan: Record<string, unknown>): string {
  switch (plan.action) {
    case 'up':
      return `up: ${subsystems(plan.migrations)}`;
    case 'alreadyUp':
      return `up ran already: ${subsystems(plan.migrations)}`;
    case 'finishEarlier':
      return `finish an earlier upgrade's ${subsystems(plan.earlier)} first, then up: ${subsystems(plan.then)}`;
    case 'none':
      return 'none: green brings no migrations';
    default:
      return `${String(plan.action)}: ${str(plan.reason) ?? ''}`;
  }
}

function migrationRows(u: UpgradeView): Row[] {
  const plan = record(u.details.migrationPlan);
  const rows: Row[] = plan ? [{ label: 'plan', value: planText(plan) }] : [];
  for (const m of records(u.details.migrations)) {
    const list = record(m.list);
    rows.push({
      label: `${str(m.command)} (Kong ${str(m.version)})`,
      value: `${m.ran ? `ran, exit ${num(m.exitCode) ?? '?'}` : 'done already'}; list: ${str(list?.meaning) ?? '?'}`,
      tone: m.ran && num(m.exitCode) !== 0 ? 'bad' : 'ok',
    });
  }
  return rows;
}

/** The latest value a traffic step's analysis measured for a check. */
function lastMeasured(u: UpgradeView, check: string): number | undefined {
  const results = (u.trafficSteps ?? []).flatMap((s) => s.analysis).filter((r) => r.check === check);
  return results.flatMap((r) => r.measurements).map((m) => m.value).filter((v): v is number => v !== undefined).pop();
}

function trafficRows(u: UpgradeView): Row[] {
  const rows: Row[] = [{ label: 'weights', value: `blue ${u.traffic.blue}% · green ${u.traffic.green}%` }];
  for (const { check, label, format } of MEASURED) {
    const v = lastMeasured(u, check);
    if (v !== undefined) rows.push({ label, value: format(v) });
  }
  if (u.step === 'promote' && /analysis/.test(u.waitingFor)) rows.push({ label: 'analysis in progress', value: u.waitingFor, tone: 'warn' });
  return rows;
}

function gatewayRows(u: UpgradeView): Row[] {
  const rows: Row[] = [];
  const admin = record(u.details.adminApi);
  if (admin) rows.push({ label: 'Admin API', value: admin.frozen ? `writes frozen${str(admin.since) ? ` since ${str(admin.since)}` : ''}` : 'writes open' });
  const changed = record(u.details.configurationChanged);
  if (changed) rows.push({ label: 'configuration', value: `changed during the upgrade (${str(changed.expected)} -> ${str(changed.found)})`, tone: 'bad' });
  const ready = record(u.details.greenReadiness);
  if (ready) {
    const nodes = records(ready.nodes);
    rows.push({ label: 'green ready', value: `${nodes.filter((n) => n.ready).length} of ${nodes.length} nodes (/status/ready)`, tone: 'ok' });
  }
  const smoke = record(u.details.smoke);
  if (smoke) rows.push({ label: 'smoke', value: `${num(smoke.checked) ?? 0} requests answered as expected`, tone: 'ok' });
  for (const d of records(u.details.drained)) {
    rows.push({ label: `drained ${str(d.pod)}`, value: `${str(d.draining)}; ${str(d.ended)}${num(d.inFlight) !== undefined ? `, ${num(d.inFlight)} in flight` : ''}` });
  }
  return rows;
}

/** up ran and finish did not: the database still serves blue's version too. */
function migrationState(u: UpgradeView): string | undefined {
  const last = records(u.details.migrations).pop();
  if (!last) return record(u.details.migrationPlan) ? `migrations planned` : undefined;
  return `migrations ${str(last.command)} done (${str(record(last.list)?.meaning) ?? '?'})`;
}

export const kongPanel: KindPanel = {
  title: 'Kong',
  sections(u) {
    const sections: Section[] = [];
    const migrations = migrationRows(u);
    if (migrations.length) sections.push({ title: 'Kong migrations', evidence: true, rows: migrations });
    sections.push({ title: 'Kong traffic', evidence: true, rows: trafficRows(u) });
    const gateway = gatewayRows(u);
    if (gateway.length) sections.push({ title: 'Kong gateways', rows: gateway });
    return sections;
  },
  line(u) {
    const parts = [migrationState(u), ...MEASURED.map(({ check, label, format }) => {
      const v = lastMeasured(u, check);
      return v === undefined ? undefined : `${label} ${format(v)}`;
    })].filter(Boolean);
    return parts.length ? parts.join(', ') : undefined;
  },
};
