/**
 * Kubernetes naming and manifests for blue-green releases, without I/O: which
 * labels mark a release, how green is copied from blue, how a release's pods
 * are selected. The Kubernetes activities use these; tests use them directly.
 */
import type { V1Deployment, V1LabelSelector, V1StatefulSet } from '@kubernetes/client-node';
import { ownerMarks, TARGET_LABEL, type Owner } from './ownership';
import type { ReleaseRef } from './upgrade';

/** On a release's workload, selector and pod template: its release name (also the workload's name). */
export const RELEASE_LABEL = 'cutover.io/release';
/** Each container of a release cutover starts learns its release by this variable: the name its phase endpoint asks for. */
export const RELEASE_ENV = 'CUTOVER_RELEASE';
/** On a release's workload: the version it runs (versions need not be valid label values). */
export const VERSION_ANNOTATION = 'cutover.io/version';
/** On a green workload: the workload it was copied from. */
export const COPIED_FROM_ANNOTATION = 'cutover.io/copied-from';

export type Workload = V1StatefulSet | V1Deployment;

/** The tag of an image reference (`registry:5000/emqx/emqx:5.8.1@sha256:..` -> `5.8.1`); `latest` if it has none. */
export function imageTag(image: string): string {
  const name = image.split('@')[0]!;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : 'latest';
}

/** The same image repository with another tag (and no digest, which would pin the old image). */
export function withTag(image: string, tag: string): string {
  const name = image.split('@')[0]!;
  const colon = name.lastIndexOf(':');
  return `${colon > name.lastIndexOf('/') ? name.slice(0, colon) : name}:${tag}`;
}

/** The application container: the first one of the pod template, by convention (sidecars come after). */
export function workloadImage(w: Workload): string {
  const image = w.spec?.template.spec?.containers[0]?.image;
  if (!image) throw new Error(`workload ${w.metadata?.name} has no container image`);
  return image;
}

/** The release a workload carries: its release label, else (a workload cutover has not made) its own name. */
export function releaseOf(w: Workload): ReleaseRef {
  const name = w.metadata?.labels?.[RELEASE_LABEL] ?? w.metadata!.name!;
  return { name, version: w.metadata?.annotations?.[VERSION_ANNOTATION] ?? imageTag(workloadImage(w)) };
}

/** `k=v,...` for a label map. */
export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * The pods of exactly this workload. A workload cutover did not make (the
 * first blue) selects by its app labels only, which green's pods carry too,
 * so it excludes every pod that has a release label.
 */
export function releasePodSelector(selector: V1LabelSelector | undefined): string {
  const labels = selector?.matchLabels ?? {};
  const own = labelSelector(labels);
  return RELEASE_LABEL in labels ? own : [own, `!${RELEASE_LABEL}`].filter(Boolean).join(',');
}

/**
 * The label with which a workload's controller marks the pods of its current
 * template (StatefulSet: controller-revision-hash; Deployment: pod-template-hash).
 */
export const REVISION_LABEL = { StatefulSet: 'controller-revision-hash', Deployment: 'pod-template-hash' } as const;
export type WorkloadKind = keyof typeof REVISION_LABEL;

/**
 * The labels that pick a release's pods and no other's: its release label if
 * its pods carry one; else (the first blue, which selects by app labels that
 * green's pods carry too) its app labels and its controller's revision label,
 * so that blue is selected alone without restarting it.
 */
export function releasePodLabels(w: Workload, kind: WorkloadKind, revision: string | undefined): Record<string, string> {
  const labels = { ...w.spec?.selector.matchLabels };
  if (RELEASE_LABEL in labels) return labels;
  if (!revision) throw new Error(`${kind} ${w.metadata?.name} has no current revision yet: its controller has not seen it`);
  return { ...labels, [REVISION_LABEL[kind]]: revision };
}

/** The Service selector that sends traffic to a release: the Service's own labels, the release's labels, the other release's keys removed. */
export function serviceSelectorFor(current: Record<string, string>, target: Workload, kind: WorkloadKind, revision: string | undefined): Record<string, string | null> {
  const wanted = releasePodLabels(target, kind, revision);
  // null removes a key in a merge patch: the release label when going back to the first blue, its revision label when leaving it
  return { ...current, [RELEASE_LABEL]: null, [REVISION_LABEL[kind]]: null, ...wanted };
}

/** The Service an HTTPRoute sends a release's share to (one per release, next to the target's own Service). */
export function releaseServiceName(release: string): string {
  return `cutover-${release}`.slice(0, 63).replace(/-+$/, '');
}

/**
 * Green as a copy of blue: named after the green release, the release label in
 * selector and pod template (so the two sets never select each other's pods),
 * the new image and the given environment on the application container, the same volume claim templates
 * (each StatefulSet gets its own PVCs, `<template>-<green>-<ordinal>`). With an
 * owner, the workload and its claim templates carry the owner's marks and its
 * pods the target label (src/domain/ownership.ts).
 */
export function greenManifest<W extends Workload>(blue: W, green: ReleaseRef, image: string, replicas: number, owner?: Owner, env: Record<string, string> = {}): W {
  const copy = structuredClone(blue);
  const spec = copy.spec!;
  const release = { [RELEASE_LABEL]: green.name };
  const marks = owner ? ownerMarks(owner) : { labels: {}, annotations: {} };
  const podMarks: Record<string, string> = owner ? { [TARGET_LABEL]: owner.target } : {};
  spec.replicas = replicas;
  spec.selector = { ...spec.selector, matchLabels: { ...spec.selector.matchLabels, ...release } };
  spec.template.metadata = { ...spec.template.metadata, labels: { ...spec.template.metadata?.labels, ...podMarks, ...release } };
  const app = spec.template.spec!.containers[0]!;
  app.image = image;
  // what the strategy says green needs that blue's copy would not give it (EMQX: static seeds naming green's own nodes)
  app.env = [...(app.env ?? []).filter((e) => !(e.name in env)), ...Object.entries(env).map(([name, value]) => ({ name, value }))];
  for (const c of spec.template.spec!.containers) c.env = [...(c.env ?? []).filter((e) => e.name !== RELEASE_ENV), { name: RELEASE_ENV, value: green.name }];
  if (owner && 'volumeClaimTemplates' in spec) {
    for (const t of spec.volumeClaimTemplates ?? []) {
      t.metadata = { ...t.metadata, labels: { ...t.metadata?.labels, ...marks.labels }, annotations: { ...t.metadata?.annotations, ...marks.annotations } };
    }
  }
  copy.metadata = {
    name: green.name,
    namespace: blue.metadata?.namespace,
    labels: { ...blue.metadata?.labels, ...marks.labels, ...release },
    annotations: { [VERSION_ANNOTATION]: green.version, [COPIED_FROM_ANNOTATION]: blue.metadata!.name!, ...marks.annotations },
  };
  delete copy.status;
  return copy;
}
