/**
 * One Service per release (`cutover-<release>`: the target Service's ports,
 * the release's pods only), for the routers that weight Services: an
 * HTTPRoute's backendRefs, a VirtualService's destinations. Each is created
 * with its release (blue's when green is), carries the owner's marks, and is
 * deleted with its release; one that exists must be the target's (blue's is
 * adopted with blue).
 */
import { RELEASE_LABEL, releaseOf, releasePodLabels, releaseServiceName, type Workload } from '../../../domain/kubernetes';
import type { ReleaseWeights, RouterReading } from '../../../domain/router';
import type { Cluster } from '../../platforms/kubernetes/client';
import type { PerReleaseObjects } from './clusterRouter';
import { serviceSelectorRouter } from './serviceSelector';

export class ReleaseServices implements PerReleaseObjects {
  constructor(private readonly c: Cluster) {}

  async check(blue: Workload, green: string, owner: string): Promise<void> {
    const { c } = this;
    const greenService = await c.readServiceOrAbsent(releaseServiceName(green));
    if (greenService && !c.objects.isOurs(greenService)) throw c.objects.clash('Service', greenService);
    const blueService = await c.readServiceOrAbsent(releaseServiceName(releaseOf(blue).name));
    if (blueService) c.objects.adoption('Service', blueService, owner, releaseOf(blue).name);
  }

  async ensure(blue: Workload, green: Workload, owner?: string): Promise<void> {
    await this.ensureOne(blue, owner, true);
    await this.ensureOne(green, owner);
  }

  /**
   * The Service a router sends one release's share to. With an owner it
   * carries the owner's marks, and one that exists must be the target's
   * (adopt: the serving release's, which the upgrade adopts with it).
   */
  async ensureOne(w: Workload, owner?: string, adopt = false): Promise<void> {
    const { c } = this;
    const release = releaseOf(w).name;
    const name = releaseServiceName(release);
    if (owner) {
      const existing = await c.readServiceOrAbsent(name);
      if (existing) {
        const adoption = adopt ? c.objects.adoption('Service', existing, owner, release) : undefined;
        if (adoption) await c.patchService(name, adoption);
        else if (!adopt && !c.objects.isOurs(existing)) throw c.objects.clash('Service', existing);
        return;
      }
    }
    const marks = owner ? c.objects.marks(owner) : { labels: {}, annotations: {} };
    const target = await c.readService();
    await c.createService({
      metadata: { name, labels: { ...marks.labels, [RELEASE_LABEL]: release }, annotations: marks.annotations },
      spec: {
        selector: releasePodLabels(w, c.kind, RELEASE_LABEL in (w.spec?.selector.matchLabels ?? {}) ? undefined : await c.revision(w)),
        ports: (target.spec?.ports ?? []).map(({ name, port, protocol, targetPort, appProtocol }) => ({ name, port, protocol, targetPort, appProtocol })),
      },
    });
  }

  /** Ensures the Services of the releases about to get traffic (with an owner, only the target's releases). */
  async ensureFor(releases: string[], owner?: string): Promise<void> {
    for (const release of releases) await this.ensureOne(await (owner ? this.c.ownWorkload(release) : this.c.readWorkload(release)), owner);
  }

  async remove(release: string, owner?: string): Promise<void> {
    const { c } = this;
    const name = releaseServiceName(release);
    const service = owner ? await c.readServiceOrAbsent(name) : undefined;
    if (!owner || (service && c.objects.isOurs(service))) await c.deleteService(name);
  }

  async list(release: string): Promise<string[]> {
    const service = await this.c.readServiceOrAbsent(releaseServiceName(release));
    return service ? [`Service ${service.metadata!.name}`] : [];
  }

  /**
   * What a router serves from its weights on Services: by release, a
   * Service of a release by its name where cutover has just written it
   * (`written`), else by its release label; any other backend (the user's
   * own Service) under its own name, in `unknown`.
   */
  async reading(backends: { service: string; weight: number }[], readiness: string, written: string[] = []): Promise<RouterReading> {
    const known = new Map(written.map((r) => [releaseServiceName(r), r]));
    const releases = await Promise.all(
      backends.map(async (b) => known.get(b.service) ?? (await this.c.readServiceOrAbsent(b.service))?.metadata?.labels?.[RELEASE_LABEL]),
    );
    const weights: ReleaseWeights = {};
    const unknown: ReleaseWeights = {};
    backends.forEach((b, i) => {
      const into = releases[i] ? weights : unknown;
      const key = releases[i] ?? b.service;
      into[key] = (into[key] ?? 0) + b.weight;
    });
    return { weights, ...(Object.keys(unknown).length ? { unknown } : {}), readiness };
  }

  /** Before cutover's first switch a router leads to the user's own Service, whose selector then says who serves. */
  async orSelected(now: RouterReading): Promise<RouterReading> {
    if (Object.keys(now.weights).length) return now;
    return { ...(await serviceSelectorRouter(this.c).read()), readiness: now.readiness };
  }
}
