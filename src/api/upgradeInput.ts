/**
 * A start request made into the workflow's input, or refused: 400 for what
 * cannot be (a field's value, a duration past its bound, a history past its
 * budget), 403 for what the target's policy does not allow. The policy in
 * force goes into the input, so a later change of the config file never
 * rewrites a running upgrade.
 */
import type { Config } from '../config/file';
import { durationProblems } from '../config/bounds';
import { OptionsError, normaliseOptions } from '../config/normalise';
import { subscriptionsFor } from '../config/notifications';
import { UpgradeOptionsInput } from '../config/options';
import { configuredLayers, distinctAnywhere, httpHostRefusal, policyFor, policyRefusal } from '../config/policy';
import { MAX_DURATION } from '../domain/duration';
import { estimateHistory, overBudget } from '../domain/historyBudget';
import { kindModule } from '../domain/kindRegistry';
import { releaseName, type UpgradeInput } from '../domain/upgrade';
import { badRequest, forbidden } from './errors';
import type { StartUpgradeBody } from './schemas';

export function upgradeInputFor(config: Config, body: StartUpgradeBody, requestedBy: string): UpgradeInput {
  const target = config.targets.find((t) => t.name === body.target);
  if (!target) throw badRequest('target', `'${body.target}' is not a configured target (known: ${config.targets.map((t) => t.name).join(', ')})`);
  if (target.kind !== body.kind) throw badRequest('kind', `is ${body.kind}, but target ${target.name} is of kind ${target.kind}`);
  const unsupported = kindModule(target.kind).versionProblem?.(body.version);
  if (unsupported) throw badRequest('version', unsupported);
  const [long] = durationProblems(UpgradeOptionsInput, body.options ?? {}, MAX_DURATION, 'options');
  if (long) throw badRequest(long.field, long.message);
  const policy = policyFor(config, target);
  const layers = configuredLayers(config, target);
  const options = (more: UpgradeOptionsInput[]) => {
    try {
      return normaliseOptions(target.kind, [...layers, ...more], { requireDistinctApprover: distinctAnywhere(policy), checks: config.analysis });
    } catch (err) {
      if (err instanceof OptionsError) throw badRequest(`options.${err.field}`, err.message);
      throw err;
    }
  };
  const final = options([body.options ?? {}]);
  const refusal =
    policyRefusal(policy, target.name, body, options([]).options, final.options) ?? httpHostRefusal(policy, target.name, releaseName(target.name, body.version), final.options);
  if (refusal) throw forbidden(refusal.field, refusal.message);
  const notifications = subscriptionsFor(config, target.name);
  const input: UpgradeInput = { ...final, target: target.name, version: body.version, image: body.image, requestedBy, reason: body.reason, policy, ...(notifications.length ? { notifications } : {}) };
  const estimate = estimateHistory(input);
  const over = overBudget(estimate);
  if (over) {
    throw badRequest(
      'options',
      `would give a history of up to ${estimate.events} events, ${Math.ceil(estimate.bytes / 1024)} KiB, its largest payload ${Math.ceil(estimate.payloadBytes / 1024)} KiB: ` +
        `over the budget (${over}); give fewer traffic steps or analysis checks`,
    );
  }
  return input;
}
