/**
 * The Kong versions cutover supports (3.4 LTS to 3.9) and what differs
 * between them where cutover can tell (pure), as Kong/kong's source says at
 * the tags:
 *  - GET /status/ready exists from 3.3.0 (kong/status/ready.lua is new there);
 *    before, the status API answers it 404 {"message":"Not found"}.
 *  - POST /status/ready {"status":"draining"} from 3.9.0 (kong/status/ready.lua@3.9.0
 *    lines 126-134: 204, or 400 without a body for any other status); from 3.3
 *    to 3.8 the route has GET only, and a POST is 405 {"message":"Method not
 *    allowed"} (kong/api/api_helpers.lua handle_error).
 *  - status_listen is off by default before 3.6.0 and 127.0.0.1:8007 from
 *    3.6.0 (kong/templates/kong_defaults.lua): either way the worker reaches a
 *    node's status API only where the pods set KONG_STATUS_LISTEN.
 *  - GET / (Admin API) has `edition` from 3.6.0 (kong/api/routes/kong.lua).
 *  - The Prometheus plugin labels its per-route metrics with `workspace`
 *    from 3.7.0 (kong/plugins/prometheus/exporter.lua), and has the config
 *    field ai_metrics from 3.8.0 (kong/plugins/prometheus/schema.lua).
 */

export interface KongVersion {
  major: number;
  minor: number;
  patch: number;
  text: string;
}

/** 3.9.0, 3.9.0.1 (Kong Enterprise's fourth number), 3.9, or an image tag such as 3.9.0-ubuntu. */
export function parseKongVersion(text: string): KongVersion | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?(?:\.\d+)?(?:-[\w.]+)?$/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text } : undefined;
}

const at = (v: KongVersion, minor: number): boolean => v.major > 3 || (v.major === 3 && v.minor >= minor);

export const SUPPORTED = { from: '3.4', to: '3.9' } as const;

export interface KongFeatures {
  /** GET /status/ready on the status API. */
  statusReady: boolean;
  /** POST /status/ready {"status":"draining"}. */
  postDraining: boolean;
  /** status_listen when the configuration does not set it. */
  statusListenDefault: string;
  /** GET / (Admin API) answers `edition`. */
  adminEdition: boolean;
  /** kong_http_requests_total and kong_request_latency_ms carry a `workspace` label. */
  metricsWorkspaceLabel: boolean;
  /** The prometheus plugin's config has ai_metrics. */
  prometheusAiMetrics: boolean;
}

export function kongFeatures(v: KongVersion): KongFeatures {
  return {
    statusReady: at(v, 3),
    postDraining: at(v, 9),
    statusListenDefault: at(v, 6) ? '127.0.0.1:8007' : 'off',
    adminEdition: at(v, 6),
    metricsWorkspaceLabel: at(v, 7),
    prometheusAiMetrics: at(v, 8),
  };
}

/**
 * Why cutover cannot upgrade to (green) or from (blue) this Kong version, or
 * undefined: a version outside 3.4 to 3.9 names what it lacks, or that cutover
 * was not checked against it, and what to do. Green's reads after "version "
 * (the API's 400 on field version).
 */
export function kongVersionProblem(text: string, role: 'blue' | 'green'): string | undefined {
  const v = parseKongVersion(text);
  const isBlue = role === 'blue';
  const subject = isBlue ? `the release serving now runs Kong ${text}, which is` : `${text} is`;
  if (!v) return `${isBlue ? `the release serving now runs '${text}', which` : `'${text}'`} is not a Kong version (such as 3.9.0, or 3.9.0.1 for Kong Enterprise)`;
  const matrix = `cutover supports, Kong ${SUPPORTED.from} (LTS) to ${SUPPORTED.to}`;
  if (v.major !== 3 || v.minor < 4) {
    const lacks = kongFeatures(v).statusReady
      ? `Kong ${text} is not a version cutover was checked against`
      : `Kong ${text} has no GET /status/ready (Kong 3.3 and later), by which cutover tells that a node is ready`;
    const fix = isBlue
      ? `upgrade it to Kong ${SUPPORTED.from} with Kong's own runbook first ('kong migrations up', the new nodes, then 'kong migrations finish'), then upgrade with cutover`
      : `upgrade to Kong ${SUPPORTED.from} or later`;
    return `${subject} older than what ${matrix}: ${lacks}; ${fix}`;
  }
  if (v.minor > 9) {
    return (
      `${subject} newer than what ${matrix}: Kong's 'kong migrations status', /status, /status/ready and Prometheus metrics were checked in its source up to 3.9.3 only; ` +
      (isBlue ? "upgrade it with Kong's own runbook" : `upgrade to a ${SUPPORTED.to}.x release`)
    );
  }
  return undefined;
}

/** A green older than blue (by minor): Kong's migrations only go forward. */
export function kongDowngradeProblem(blue: string, green: string): string | undefined {
  const [b, g] = [parseKongVersion(blue), parseKongVersion(green)];
  if (!b || !g || g.major > b.major || (g.major === b.major && g.minor >= b.minor)) return undefined;
  return (
    `Kong ${green} is older than Kong ${blue}, which serves now: Kong's migrations only go forward, and ${green} does not know the migrations ${blue} ran; ` +
    "to go back, restore the database from the backup taken before that upgrade"
  );
}
