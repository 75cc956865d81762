/**
 * A Kubernetes API server for tests, speaking the REST protocol of apps/v1 and
 * core/v1 over HTTP to the real @kubernetes/client-node: StatefulSets and
 * Deployments (with /scale and /status), Services, Pods and PVCs; create,
 * get, list with label selectors, replace with resourceVersion (409 on a
 * stale one), the three patch content types (415 for any other), delete, and
 * errors as `Status` objects, as the real apiserver sends them.
 *
 * A small controller plays the StatefulSet and Deployment controllers and
 * the kubelet: it keeps each workload's pods (`<sts>-<i>`, or
 * `<deploy>-<hash>-<suffix>`), one PVC per claim template per StatefulSet pod
 * (kept after scale-down and after the StatefulSet is deleted, as the real
 * one does), marks pods Ready after a per-test delay or never (a bad image:
 * ImagePullBackOff), and writes the workload's status from its pods.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** A stored object, as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    uid?: string;
    creationTimestamp?: string;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form JSON, as stored by the apiserver
  status?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RecordedRequest {
  method: string;
  /** Decoded path without the query. */
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: unknown;
}

/** How the pods of matching workloads (by name or by container image) become ready; the last matching rule wins. */
export interface ReadinessRule {
  workload?: string;
  image?: string;
  /** Milliseconds from a pod's creation to Ready. */
  afterMs?: number;
  /** The pod never becomes ready and its container waits with this reason, e.g. ImagePullBackOff. */
  never?: string;
}

export interface KubeApiServerOptions {
  /** Bearer token the server accepts; anything else gets 401. */
  token?: string;
  /** Default delay from a pod's creation to Ready. */
  readyAfterMs?: number;
}

type Kind = 'StatefulSet' | 'Deployment' | 'Service' | 'Pod' | 'PersistentVolumeClaim';
interface ResourceType {
  kind: Kind;
  plural: string;
  group: 'apps/v1' | 'v1';
}
const TYPES: ResourceType[] = [
  { kind: 'StatefulSet', plural: 'statefulsets', group: 'apps/v1' },
  { kind: 'Deployment', plural: 'deployments', group: 'apps/v1' },
  { kind: 'Service', plural: 'services', group: 'v1' },
  { kind: 'Pod', plural: 'pods', group: 'v1' },
  { kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', group: 'v1' },
];
const byPlural = new Map(TYPES.map((t) => [t.plural, t]));
const byKind = new Map(TYPES.map((t) => [t.kind, t]));
const isWorkload = (kind: string): boolean => kind === 'StatefulSet' || kind === 'Deployment';

const PATCH_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json'];

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: { name?: string; kind?: string },
  ) {
    super(message);
  }
}

const clone = <T>(v: T): T => structuredClone(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch; strategic merge patch is treated the same (enough for labels, selectors, replicas, images by whole list). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch: add, remove, replace, test. */
function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new HttpError(400, 'BadRequest', 'json patch must be an array of operations');
  let out = clone(doc);
  for (const op of ops as { op: string; path: string; value?: unknown }[]) {
    const keys = op.path
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (keys.length === 0) {
      if (op.op === 'test') {
        if (JSON.stringify(out) !== JSON.stringify(op.value)) throw new HttpError(422, 'Invalid', `test operation failed at ${op.path}`);
        continue;
      }
      out = clone(op.value);
      continue;
    }
    let parent: unknown = out;
    for (const k of keys.slice(0, -1)) {
      parent = (parent as Record<string, unknown>)?.[k];
      if (parent === undefined) throw new HttpError(422, 'Invalid', `doc is missing path: ${op.path}`);
    }
    const last = keys[keys.length - 1]!;
    const container = parent as Record<string, unknown>;
    const list = parent as unknown[];
    const index = Array.isArray(list) ? (last === '-' ? list.length : Number(last)) : -1;
    switch (op.op) {
      case 'add':
        if (Array.isArray(list)) list.splice(index, 0, clone(op.value));
        else container[last] = clone(op.value);
        break;
      case 'replace':
      case 'remove':
        if (!(Array.isArray(list) ? index < list.length : last in container)) {
          throw new HttpError(422, 'Invalid', `doc is missing path: ${op.path}`);
        }
        if (op.op === 'remove') {
          if (Array.isArray(list)) list.splice(index, 1);
          else delete container[last];
        } else if (Array.isArray(list)) list[index] = clone(op.value);
        else container[last] = clone(op.value);
        break;
      case 'test':
        if (JSON.stringify(Array.isArray(list) ? list[index] : container[last]) !== JSON.stringify(op.value)) {
          throw new HttpError(422, 'Invalid', `test operation failed at ${op.path}`);
        }
        break;
      default:
        throw new HttpError(422, 'Invalid', `unsupported json patch operation ${op.op}`);
    }
  }
  return out;
}

/** Label selector requirements: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b). */
export function matchesSelector(labels: Record<string, string> = {}, selector = ''): boolean {
  const parts = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return parts.every((raw) => {
    const req = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(req))) {
      const set = m[3]!.split(',').map((s) => s.trim());
      const has = m[1]! in labels && set.includes(labels[m[1]!]!);
      return m[2] === 'in' ? has : !has;
    }
    if ((m = /^(.+?)\s*!=\s*(.*)$/.exec(req))) return labels[m[1]!] !== m[2];
    if ((m = /^(.+?)\s*==?\s*(.*)$/.exec(req))) return labels[m[1]!] === m[2];
    if (req.startsWith('!')) return !(req.slice(1) in labels);
    return req === '' || req in labels;
  });
}

export class KubeApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly token: string;
  private readonly objects = new Map<string, KubeObject>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly rules: ReadinessRule[] = [];
  private readonly forbidden = new Set<string>();
  private revision = 1;
  private ip = 1;
  private hook?: (r: RecordedRequest) => void;

  private constructor(
    private readonly server: Server,
    options: KubeApiServerOptions,
  ) {
    this.token = options.token ?? 'test-token';
    this.rules.push({ afterMs: options.readyAfterMs ?? 20 });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res));
  }

  static async start(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
    const self = new KubeApiServer(createServer(), options);
    await new Promise<void>((resolve) => self.server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A client configuration for this server, with its token unless another is given. */
  kubeConfig(token = this.token): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'test', token }],
      contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
      currentContext: 'test',
    });
    return kc;
  }

  /** Add a readiness rule; pods created from now on follow the last rule that matches them. */
  readiness(rule: ReadinessRule): void {
    this.rules.push(rule);
  }

  /** Every request to this resource (plural, e.g. `services`) gets 403 Forbidden. */
  forbid(plural: string): void {
    this.forbidden.add(plural);
  }

  /** Store an object as a client's create would (the controller then acts on it). */
  create(obj: KubeObject): KubeObject {
    const type = byKind.get(obj.kind as Kind);
    if (!type) throw new Error(`unsupported kind ${obj.kind}`);
    const created = this.insert(type, obj.metadata.namespace ?? 'default', clone(obj));
    this.reconcileAll();
    return clone(created);
  }

  /** Change a stored object as another client's update would (new resourceVersion, generation, controller run). */
  update(kind: Kind, namespace: string, name: string, change: (o: KubeObject) => void): void {
    const type = byKind.get(kind)!;
    const next = clone(this.mustGet(type, namespace, name));
    change(next);
    this.write(type, this.mustGet(type, namespace, name), undefined, next);
  }

  /** Run `fn` when a request arrives, before it is handled: how a test makes another writer win a race. */
  beforeHandling(fn: (r: RecordedRequest) => void): void {
    this.hook = fn;
  }

  get(kind: Kind, namespace: string, name: string): KubeObject | undefined {
    const o = this.objects.get(this.key(byKind.get(kind)!, namespace, name));
    return o && clone(o);
  }

  list(kind: Kind, namespace: string, selector?: string): KubeObject[] {
    return this.select(byKind.get(kind)!, namespace, selector).map(clone);
  }

  /** Names of the ready pods the Service's selector picks: where its traffic goes. */
  endpoints(namespace: string, service: string): string[] {
    const selector = this.get('Service', namespace, service)?.spec?.selector as Record<string, string> | undefined;
    if (!selector || Object.keys(selector).length === 0) return [];
    return this.list('Pod', namespace)
      .filter((p) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v) && isReady(p))
      .map((p) => p.metadata.name)
      .sort();
  }

  /** Requests that changed something (everything but GET). */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    this.requests.push({
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: Object.fromEntries(url.searchParams),
      ...(contentType ? { contentType } : {}),
      ...(body === undefined ? {} : { body }),
    });
    let status: number;
    let reply: unknown;
    try {
      this.hook?.(this.requests[this.requests.length - 1]!);
      if (req.headers.authorization !== `Bearer ${this.token}`) throw new HttpError(401, 'Unauthorized', 'Unauthorized');
      [status, reply] = this.route(req.method ?? 'GET', url, contentType, body);
    } catch (caught) {
      // A bug of this server still answers, as the real one's panics do.
      const err = caught instanceof HttpError ? caught : new HttpError(500, 'InternalError', String(caught));
      status = err.code;
      reply = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: err.message,
        reason: err.reason,
        ...(err.details ? { details: err.details } : {}),
        code: err.code,
      };
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply));
  }

  private route(method: string, url: URL, contentType: string | undefined, body: unknown): [number, unknown] {
    const m = /^\/(?:api\/v1|apis\/apps\/v1)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+)(?:\/(scale|status))?)?$/.exec(url.pathname);
    const type = m && byPlural.get(m[2]!);
    const group = url.pathname.startsWith('/apis/apps/v1') ? 'apps/v1' : 'v1';
    if (!m || !type || type.group !== group || (m[4] === 'scale' && !isWorkload(type.kind))) {
      throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const [, namespace, , name, sub] = m as unknown as [string, string, string, string | undefined, 'scale' | 'status' | undefined];
    const verb = { GET: name ? 'get' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method] ?? method;
    if (this.forbidden.has(type.plural)) {
      throw new HttpError(
        403,
        'Forbidden',
        `${type.plural}${sub ? `/${sub}` : ''} "${name ?? ''}" is forbidden: User "system:serviceaccount:cutover:cutover" cannot ${verb} resource "${type.plural}" in API group "${type.group === 'v1' ? '' : 'apps'}" in the namespace "${namespace}"`,
        { name, kind: type.plural },
      );
    }
    if (!name) {
      if (method === 'GET') return [200, this.listReply(type, namespace, url.searchParams.get('labelSelector') ?? undefined)];
      if (method === 'POST') {
        const created = this.insert(type, namespace, body as KubeObject);
        this.reconcileAll();
        return [201, created];
      }
      throw new HttpError(405, 'MethodNotAllowed', `${method} is not supported on a collection here`);
    }
    const current = this.mustGet(type, namespace, name);
    switch (method) {
      case 'GET':
        return [200, sub === 'scale' ? this.scaleOf(current) : current];
      case 'PUT':
        return [200, this.write(type, current, sub, body as KubeObject)];
      case 'PATCH': {
        if (!contentType || !PATCH_TYPES.includes(contentType)) {
          throw new HttpError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}, application/apply-patch+yaml`,
          );
        }
        const base = sub === 'scale' ? this.scaleOf(current) : current;
        // The patched object keeps the stored resourceVersion unless the patch sets one: then it is a conditional update.
        const patched = (contentType === 'application/json-patch+json' ? jsonPatch(base, body) : mergePatch(base, body)) as KubeObject;
        return [200, this.write(type, current, sub, patched)];
      }
      case 'DELETE':
        this.objects.delete(this.key(type, namespace, name));
        this.reconcileAll();
        return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: type.plural, uid: current.metadata.uid } }];
      default:
        throw new HttpError(405, 'MethodNotAllowed', `${method} is not supported`);
    }
  }

  // ---- store ----

  private key(type: ResourceType, namespace: string, name: string): string {
    return `${type.plural}/${namespace}/${name}`;
  }

  private mustGet(type: ResourceType, namespace: string, name: string): KubeObject {
    const o = this.objects.get(this.key(type, namespace, name));
    if (!o) throw new HttpError(404, 'NotFound', `${type.plural}${type.group === 'apps/v1' ? '.apps' : ''} "${name}" not found`, { name, kind: type.plural });
    return o;
  }

  private select(type: ResourceType, namespace: string, selector?: string): KubeObject[] {
    return [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(`${type.plural}/${namespace}/`) && matchesSelector(o.metadata.labels, selector))
      .map(([, o]) => o)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name, 'en', { numeric: true }));
  }

  private listReply(type: ResourceType, namespace: string, selector?: string): unknown {
    return { kind: `${type.kind}List`, apiVersion: type.group, metadata: { resourceVersion: String(this.revision) }, items: this.select(type, namespace, selector) };
  }

  private bump(o: KubeObject): void {
    o.metadata.resourceVersion = String(++this.revision);
  }

  private insert(type: ResourceType, namespace: string, obj: KubeObject): KubeObject {
    const name = obj?.metadata?.name;
    if (!name || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
      throw new HttpError(422, 'Invalid', `${type.kind} "${name ?? ''}" is invalid: metadata.name: Invalid value`, { name, kind: type.plural });
    }
    if (this.objects.has(this.key(type, namespace, name))) {
      throw new HttpError(409, 'AlreadyExists', `${type.plural}${type.group === 'apps/v1' ? '.apps' : ''} "${name}" already exists`, { name, kind: type.plural });
    }
    if (isWorkload(type.kind)) this.validateWorkload(obj);
    const stored: KubeObject = {
      ...clone(obj),
      apiVersion: type.group,
      kind: type.kind,
      metadata: { ...clone(obj.metadata), namespace, uid: randomUUID(), creationTimestamp: new Date().toISOString(), generation: 1 },
    };
    delete stored.metadata.resourceVersion;
    if (isWorkload(type.kind)) stored.status = { replicas: 0, readyReplicas: 0, availableReplicas: 0, observedGeneration: 0 };
    this.bump(stored);
    this.objects.set(this.key(type, namespace, name), stored);
    return clone(stored);
  }

  private validateWorkload(o: KubeObject): void {
    const match = (o.spec?.selector?.matchLabels ?? {}) as Record<string, string>;
    const labels = (o.spec?.template?.metadata?.labels ?? {}) as Record<string, string>;
    if (Object.keys(match).length === 0 || !Object.entries(match).every(([k, v]) => labels[k] === v)) {
      throw new HttpError(422, 'Invalid', `${o.kind} "${o.metadata.name}" is invalid: spec.template.metadata.labels: Invalid value: \`selector\` does not match template \`labels\``, {
        name: o.metadata.name,
        kind: o.kind,
      });
    }
    if (!o.spec?.template?.spec?.containers?.length) {
      throw new HttpError(422, 'Invalid', `${o.kind} "${o.metadata.name}" is invalid: spec.template.spec.containers: Required value`);
    }
  }

  /** PUT or PATCH of an object, its /status or its /scale: optimistic concurrency, then the part the endpoint may change. */
  private write(type: ResourceType, current: KubeObject, sub: 'scale' | 'status' | undefined, next: KubeObject): KubeObject | unknown {
    const given = next?.metadata?.resourceVersion;
    if (!given && sub !== 'scale') {
      throw new HttpError(422, 'Invalid', `${type.kind} "${current.metadata.name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`);
    }
    if (given && given !== current.metadata.resourceVersion) {
      throw new HttpError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${type.plural}${type.group === 'apps/v1' ? '.apps' : ''} "${current.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name: current.metadata.name, kind: type.plural },
      );
    }
    if (sub === 'scale') {
      const replicas = next.spec?.replicas;
      if (!Number.isInteger(replicas) || replicas < 0) throw new HttpError(422, 'Invalid', `Scale "${current.metadata.name}" is invalid: spec.replicas: must be a non-negative integer`);
      if (current.spec.replicas !== replicas) {
        current.spec.replicas = replicas;
        current.metadata.generation = (current.metadata.generation ?? 0) + 1;
        this.bump(current);
        this.reconcileAll();
      }
      return this.scaleOf(current);
    }
    if (sub === 'status') {
      current.status = clone(next.status);
      this.bump(current);
      return clone(current);
    }
    if (isWorkload(type.kind)) {
      this.validateWorkload(next);
      const immutable = type.kind === 'StatefulSet' ? ['selector', 'serviceName', 'volumeClaimTemplates'] : ['selector'];
      for (const field of immutable) {
        if (JSON.stringify(next.spec?.[field]) !== JSON.stringify(current.spec?.[field])) {
          throw new HttpError(422, 'Invalid', `${type.kind} "${current.metadata.name}" is invalid: spec.${field}: Forbidden: field is immutable`);
        }
      }
    }
    const specChanged = JSON.stringify(next.spec) !== JSON.stringify(current.spec);
    const meta = current.metadata;
    current.metadata = {
      ...meta,
      labels: next.metadata.labels,
      annotations: next.metadata.annotations,
      ownerReferences: next.metadata.ownerReferences ?? meta.ownerReferences,
    };
    current.spec = clone(next.spec);
    if (specChanged && isWorkload(type.kind)) current.metadata.generation = (meta.generation ?? 0) + 1;
    this.bump(current);
    this.reconcileAll();
    return clone(current);
  }

  private scaleOf(w: KubeObject): unknown {
    const { name, namespace, resourceVersion, uid, creationTimestamp } = w.metadata;
    const match = (w.spec.selector?.matchLabels ?? {}) as Record<string, string>;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name, namespace, resourceVersion, uid, creationTimestamp },
      spec: { replicas: w.spec.replicas ?? 1 },
      status: { replicas: w.status?.replicas ?? 0, selector: Object.entries(match).map(([k, v]) => `${k}=${v}`).join(',') },
    };
  }

  // ---- controller ----

  private reconcileAll(): void {
    for (const [k, o] of this.objects) {
      if (k.startsWith('statefulsets/') || k.startsWith('deployments/')) this.reconcile(o);
    }
    this.collectOrphans();
  }

  /** Pods whose owner is gone are deleted (garbage collection); PVCs are not: a StatefulSet's claims outlive it. */
  private collectOrphans(): void {
    const uids = new Set([...this.objects.values()].map((o) => o.metadata.uid));
    for (const [k, o] of this.objects) {
      if (k.startsWith('pods/') && o.metadata.ownerReferences?.some((r) => !uids.has(r.uid))) this.objects.delete(k);
    }
  }

  private reconcile(w: KubeObject): void {
    const ns = w.metadata.namespace!;
    const desired = (w.spec.replicas ?? 1) as number;
    const template = w.spec.template;
    const hash = createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);
    const owned = this.select(byKind.get('Pod')!, ns).filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === w.metadata.uid));
    const isSts = w.kind === 'StatefulSet';
    // Pods of another template (an image patched) are replaced, as a rolling update would.
    for (const p of owned) {
      const ordinal = isSts ? Number(p.metadata.name.slice(w.metadata.name.length + 1)) : -1;
      const stale = p.metadata.labels?.[isSts ? 'controller-revision-hash' : 'pod-template-hash'] !== hash;
      if (stale || (isSts && ordinal >= desired)) this.objects.delete(this.key(byKind.get('Pod')!, ns, p.metadata.name));
    }
    const live = this.select(byKind.get('Pod')!, ns).filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === w.metadata.uid));
    if (isSts) {
      for (let i = 0; i < desired; i++) {
        const name = `${w.metadata.name}-${i}`;
        if (!live.some((p) => p.metadata.name === name)) this.createPod(w, name, { 'controller-revision-hash': hash, 'statefulset.kubernetes.io/pod-name': name }, i);
      }
    } else {
      for (const p of live.slice(desired)) this.objects.delete(this.key(byKind.get('Pod')!, ns, p.metadata.name));
      for (let i = live.length; i < desired; i++) {
        const name = `${w.metadata.name}-${hash}-${randomUUID().replace(/-/g, '').slice(0, 5)}`;
        this.createPod(w, name, { 'pod-template-hash': hash });
      }
    }
    this.writeStatus(w);
  }

  private createPod(w: KubeObject, name: string, extraLabels: Record<string, string>, ordinal?: number): void {
    const ns = w.metadata.namespace!;
    const template = clone(w.spec.template);
    const image = template.spec.containers[0].image as string;
    const rule = [...this.rules].reverse().find((r) => (!r.workload || r.workload === w.metadata.name) && (!r.image || r.image === image))!;
    if (ordinal !== undefined) {
      for (const claim of (w.spec.volumeClaimTemplates ?? []) as KubeObject[]) {
        const pvc = `${claim.metadata.name}-${w.metadata.name}-${ordinal}`;
        if (this.objects.has(this.key(byKind.get('PersistentVolumeClaim')!, ns, pvc))) continue;
        this.insert(byKind.get('PersistentVolumeClaim')!, ns, {
          metadata: { name: pvc, labels: { ...claim.metadata.labels, ...w.spec.selector.matchLabels } },
          spec: clone(claim.spec),
          status: { phase: 'Bound' },
        });
      }
    }
    const pod = this.insert(byKind.get('Pod')!, ns, {
      metadata: {
        name,
        labels: { ...template.metadata?.labels, ...extraLabels },
        annotations: template.metadata?.annotations,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: w.kind!, name: w.metadata.name, uid: w.metadata.uid!, controller: true }],
      },
      spec: { ...template.spec, ...(ordinal !== undefined ? { hostname: name, subdomain: w.spec.serviceName } : {}) },
    });
    const stored = this.objects.get(this.key(byKind.get('Pod')!, ns, name))!;
    stored.status = {
      phase: 'Pending',
      podIP: `10.0.${Math.floor(this.ip / 250)}.${(this.ip++ % 250) + 1}`,
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        {
          name: template.spec.containers[0].name,
          image,
          ready: false,
          state: { waiting: { reason: rule.never ?? 'ContainerCreating', ...(rule.never ? { message: `Back-off pulling image "${image}"` } : {}) } },
        },
      ],
    };
    if (rule.never) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const now = this.objects.get(this.key(byKind.get('Pod')!, ns, name));
      if (!now || now.metadata.uid !== pod.metadata.uid) return;
      now.status = {
        ...now.status,
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{ name: template.spec.containers[0].name, image, ready: true, state: { running: { startedAt: new Date().toISOString() } } }],
      };
      this.bump(now);
      const owner = [...this.objects.values()].find((o) => o.metadata.uid === w.metadata.uid);
      if (owner) this.writeStatus(owner);
    }, rule.afterMs ?? 0);
    this.timers.add(timer);
  }

  private writeStatus(w: KubeObject): void {
    const pods = this.select(byKind.get('Pod')!, w.metadata.namespace!).filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === w.metadata.uid));
    const ready = pods.filter(isReady).length;
    const status = {
      replicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      updatedReplicas: pods.length,
      ...(w.kind === 'StatefulSet' ? { currentReplicas: pods.length } : {}),
      observedGeneration: w.metadata.generation,
    };
    if (JSON.stringify(status) === JSON.stringify(w.status)) return;
    w.status = status;
    this.bump(w);
  }
}

function isReady(p: KubeObject): boolean {
  return ((p.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True');
}

export interface BlueSpec {
  namespace?: string;
  /** StatefulSet (default) or Deployment. */
  kind?: 'StatefulSet' | 'Deployment';
  name?: string;
  image?: string;
  replicas?: number;
  /** The Service whose selector decides who gets traffic; a headless one `<service>-headless` is created beside it. */
  service?: string;
  /** Claim templates of a StatefulSet; default one, `data`. */
  claims?: string[];
}

/** Seeds what a cluster looks like before cutover's first upgrade: a workload labelled app=<name> and its Services. */
export function seedBlue(server: KubeApiServer, spec: BlueSpec = {}): Required<BlueSpec> {
  const s: Required<BlueSpec> = {
    namespace: 'mqtt',
    kind: 'StatefulSet',
    name: 'emqx',
    image: 'emqx/emqx:5.8.0',
    replicas: 3,
    service: 'emqx',
    claims: ['data'],
    ...spec,
  };
  const labels = { app: s.name };
  server.create({
    kind: s.kind,
    metadata: { name: s.name, namespace: s.namespace, labels },
    spec: {
      replicas: s.replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'emqx', image: s.image, ports: [{ containerPort: 1883 }] }] } },
      ...(s.kind === 'StatefulSet'
        ? {
            serviceName: `${s.service}-headless`,
            volumeClaimTemplates: s.claims.map((c) => ({
              metadata: { name: c },
              spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
            })),
          }
        : {}),
    },
  });
  for (const [name, headless] of [
    [s.service, false],
    [`${s.service}-headless`, true],
  ] as const) {
    server.create({
      kind: 'Service',
      metadata: { name, namespace: s.namespace },
      spec: { selector: labels, ports: [{ port: 1883 }], ...(headless ? { clusterIP: 'None' } : {}) },
    });
  }
  return s;
}
