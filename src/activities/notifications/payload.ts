/**
 * What a sink receives: the generic webhook's JSON (the upgrade's summary,
 * the event, links, and at a gate the evidence), or a Slack-compatible
 * incoming webhook's message (`text` for notifications and clients without
 * blocks, `blocks` for the rest, buttons that open the console).
 */
import type { NotificationEvent, NotificationSummary } from '../../domain/notifications';

export interface NotificationLinks {
  /** The upgrade's page in the console, and the same page opened on its approve or roll-back form. */
  console?: string;
  approve?: string;
  rollback?: string;
  /** The upgrade in the API (GET; the console's origin). */
  api?: string;
  temporalUi?: string;
}

/** The webhook's body: a version field lets receivers tell a later shape apart. */
export function webhookPayload(summary: NotificationSummary, links: NotificationLinks, deliveryId: string) {
  const { event, sequence, at, gate, ...upgrade } = summary;
  return {
    version: 1,
    event,
    title: titleOf(summary),
    deliveryId,
    sequence,
    occurredAt: at,
    upgrade: { id: upgrade.upgradeId, ...withoutId(upgrade) },
    ...(gate ? { gate } : {}),
    links,
  };
}

const withoutId = ({ upgradeId: _id, ...rest }: Omit<NotificationSummary, 'event' | 'sequence' | 'at' | 'gate'>) => rest;

const TITLES: Record<NotificationEvent, string> = {
  started: 'upgrade started',
  'awaiting-approval': 'waiting for approval',
  'analysis-failed': 'analysis failed: rolling back',
  'rolled-back': 'rolled back',
  failed: 'FAILED: a person must look',
  succeeded: 'succeeded',
  'point-of-no-return-passed': 'passed the point of no return',
};

/** One line: "orders-mqtt 5.7.0 → 5.8.0: waiting for approval". */
export function titleOf(s: NotificationSummary): string {
  return `${s.target} ${s.fromVersion ?? '?'} → ${s.toVersion}: ${TITLES[s.event]}`;
}

/** Slack's limit for a section's text. */
const SECTION_TEXT_MAX = 3000;
const clip = (text: string) => (text.length > SECTION_TEXT_MAX ? `${text.slice(0, SECTION_TEXT_MAX - 1)}…` : text);
/** Slack's mrkdwn needs &, < and > escaped in text that is not a link. */
const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text: clip(text) });

export function slackMessage(s: NotificationSummary, links: NotificationLinks) {
  const title = esc(titleOf(s));
  const headline = links.console ? `*<${links.console}|${title}>*` : `*${title}*`;
  const blocks: object[] = [
    { type: 'section', text: mrkdwn(`${headline}\n${esc(s.reason)} (by ${esc(s.by)})`) },
    {
      type: 'section',
      fields: [
        mrkdwn(`*Status*\n${s.status}`),
        mrkdwn(`*Step*\n${s.step ?? '—'}`),
        mrkdwn(`*Kind*\n${s.kind}`),
        mrkdwn(`*Requested by*\n${esc(s.requestedBy)}`),
        mrkdwn(`*Traffic*\nblue ${s.traffic.blue} / green ${s.traffic.green}`),
        mrkdwn(`*Waiting for*\n${esc(s.waitingFor)}`),
      ],
    },
  ];
  if (s.failure) blocks.push({ type: 'section', text: mrkdwn(`*Failure at ${s.failure.step}*\n${esc(s.failure.message)}`) });
  for (const section of s.gate?.evidence ?? []) {
    const lines = [
      ...(section.rows ?? []).map((r) => `${esc(r.label)}: ${esc(r.value)}`),
      ...(section.table ? [section.table.columns.join(' | '), ...section.table.rows.map((cells) => cells.join(' | '))].map((l) => esc(l)) : []),
    ];
    blocks.push({ type: 'section', text: mrkdwn(`*${esc(section.title)}*\n\`\`\`${lines.join('\n')}\`\`\``) });
  }
  const buttons = [
    s.event === 'awaiting-approval' && links.approve ? { type: 'button', text: { type: 'plain_text', text: 'Approve…' }, url: links.approve, style: 'primary' } : undefined,
    s.event === 'awaiting-approval' && links.rollback ? { type: 'button', text: { type: 'plain_text', text: 'Roll back…' }, url: links.rollback, style: 'danger' } : undefined,
    links.console ? { type: 'button', text: { type: 'plain_text', text: 'Console' }, url: links.console } : undefined,
    links.temporalUi ? { type: 'button', text: { type: 'plain_text', text: 'Temporal UI' }, url: links.temporalUi } : undefined,
  ].filter(Boolean);
  if (buttons.length) blocks.push({ type: 'actions', elements: buttons });
  blocks.push({ type: 'context', elements: [mrkdwn(`${esc(s.upgradeId)} · ${s.event} · ${s.at}`)] });
  return { text: `${titleOf(s)}: ${s.reason}`, blocks };
}
