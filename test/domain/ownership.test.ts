/**
 * Release names that cannot collide across targets, and the ownership marks
 * (src/domain/ownership.ts): what a user would notice is that two targets'
 * releases never share a name (and so a workload or a database), and that
 * cutover tells whose an object is.
 */
import { TARGET_NAME_PATTERN } from '../../src/config/targets';
import { releaseDatabaseName } from '../../src/domain/projection/naming';
import {
  describeOwner,
  mergeReleases,
  orphans,
  ownerComment,
  ownerMarks,
  ownerOfMarks,
  parseOwnerComment,
  type ReleaseObjects,
} from '../../src/domain/ownership';
import { RELEASE_NAME_MAX, legacyReleaseName, releaseName } from '../../src/domain/upgrade';

describe('release names', () => {
  test("the issue's pair: orders at view-2.0.0 and orders-view at 2.0.0 shared a name (workload and database); now they do not", () => {
    expect(legacyReleaseName('orders', 'view-2.0.0')).toBe(legacyReleaseName('orders-view', '2.0.0'));
    expect(releaseName('orders', 'view-2.0.0')).not.toBe(releaseName('orders-view', '2.0.0'));
    expect(releaseDatabaseName(releaseName('orders', 'view-2.0.0'))).not.toBe(releaseDatabaseName(releaseName('orders-view', '2.0.0')));
  });

  test('two versions of one target whose slugs are equal get two names', () => {
    const versions = ['2.0.0', '2-0-0', '2_0_0', '2.0.0+build', '2.0.0-build', 'V2', 'v2'];
    expect(new Set(versions.map((v) => legacyReleaseName('orders', v))).size).toBeLessThan(versions.length);
    expect(new Set(versions.map((v) => releaseName('orders', v))).size).toBe(versions.length);
  });

  test('across targets that are prefixes of one another, no two names are equal (the suffix carries the target length)', () => {
    const targets = ['a', 'a-b', 'a-b-c', 'a-1', 'a-1-0', 'orders', 'orders-view', 'orders-view-2'];
    const versions = ['1', '1.0', '1.0.0', 'b', 'b-c', 'b.c.1', 'view-2', 'view-2.0.0', '2.0.0', '0.0', 'c-1'];
    const names = targets.flatMap((t) => versions.map((v) => `${t} ${v} -> ${releaseName(t, v)}`));
    const byName = new Map<string, string[]>();
    for (const n of names) byName.set(n.split(' -> ')[1]!, [...(byName.get(n.split(' -> ')[1]!) ?? []), n]);
    expect([...byName.values()].filter((same) => same.length > 1)).toEqual([]);
  });

  test('DNS labels of at most 52 characters (a StatefulSet pod label <name>-<revision> fits 63), for the longest target and version', () => {
    const longest = 'a' + 'b'.repeat(38) + 'c';
    expect(new RegExp(TARGET_NAME_PATTERN).test(longest)).toBe(true);
    for (const [t, v] of [
      [longest, 'V' + '9.'.repeat(31) + '9'],
      [longest, '1'],
      ['x', 'v3.10.0-rc.1+build.2024.11.23-ubuntu-jammy-with-a-long-tail'],
    ] as const) {
      const name = releaseName(t, v);
      expect(name.length).toBeLessThanOrEqual(RELEASE_NAME_MAX);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(name).not.toMatch(/--/);
      expect(name.startsWith(`${t}-`)).toBe(true);
      // and a PostgreSQL identifier once its dashes are underscores
      expect(releaseDatabaseName(name)).toBe(name.replaceAll('-', '_'));
    }
  });

  test('stable: the same target and version give the same name in every process (workflow replays depend on it)', () => {
    expect(releaseName('orders-mqtt', '5.8.0')).toBe('orders-mqtt-5-8-0-0b5d1e971a');
    expect(releaseName('orders', 'view-2.0.0')).toBe('orders-view-2-0-0-0671153e76');
    expect(releaseName('orders-view', '2.0.0')).toBe('orders-view-2-0-0-0bac4566a0');
  });
});

describe('owner marks', () => {
  test('labels and annotations round-trip; no target label: no owner', () => {
    const marks = ownerMarks({ target: 'orders', upgrade: 'orders.0b6f0000-0000-0000-0000-000000000000' });
    expect(marks).toEqual({
      labels: { 'cutover.io/target': 'orders', 'app.kubernetes.io/managed-by': 'cutover' },
      annotations: { 'cutover.io/upgrade': 'orders.0b6f0000-0000-0000-0000-000000000000' },
    });
    expect(ownerOfMarks(marks)).toEqual({ target: 'orders', upgrade: 'orders.0b6f0000-0000-0000-0000-000000000000' });
    expect(ownerOfMarks({ labels: { app: 'emqx' } })).toBeUndefined();
    expect(ownerOfMarks(ownerMarks({ target: 'orders', adoptedBy: 'orders.x' }))).toEqual({ target: 'orders', adoptedBy: 'orders.x' });
  });

  test('a PostgreSQL comment records owner and release; a comment cutover did not write records nothing', () => {
    const comment = ownerComment({ owner: { target: 'orders', upgrade: 'orders.u1' }, release: 'orders-2-0-0-068160b3f2' });
    expect(comment).toBe('cutover-owner {"target":"orders","upgrade":"orders.u1","release":"orders-2-0-0-068160b3f2"}');
    expect(parseOwnerComment(comment)).toEqual({ owner: { target: 'orders', upgrade: 'orders.u1' }, release: 'orders-2-0-0-068160b3f2' });
    for (const other of [null, '', 'read model of orders', 'cutover-owner {not json', 'cutover-owner {"upgrade":"x"}']) expect(parseOwnerComment(other)).toBeUndefined();
  });

  test('messages name the owner, or say cutover did not create it', () => {
    expect(describeOwner({ target: 'orders-view', upgrade: 'orders-view.u1' })).toBe("target 'orders-view' (created by upgrade orders-view.u1)");
    expect(describeOwner({ target: 'orders', adoptedBy: 'orders.u2' })).toBe("target 'orders' (adopted by upgrade orders.u2)");
    expect(describeOwner(undefined)).toMatch(/not created by cutover/);
  });
});

describe('orphans', () => {
  const r = (name: string, weight: number, target?: string): ReleaseObjects => ({ name, weight, objects: [name], ...(target ? { owner: { target } } : {}) });

  test("the target's releases with no traffic that no running upgrade uses; never another's or an unmarked one", () => {
    const releases = [r('blue', 100, 't'), r('left-by-terminate', 0, 't'), r('green-running', 0, 't'), r('others', 0, 'u'), r('unmarked', 0)];
    expect(orphans(releases, ['blue', 'green-running'], 't').map((o) => o.name)).toEqual(['left-by-terminate']);
    expect(orphans([r('split-a', 30, 't'), r('split-b', 70, 't')], [], 't')).toEqual([]);
  });

  test("a kind's objects join the platform's release of the same name, or stand as one of their own", () => {
    const merged = mergeReleases([r('a', 100, 't')], [{ name: 'a', weight: 0, objects: ['database a'] }, { name: 'b', weight: 0, objects: ['database b'], owner: { target: 't' } }]);
    expect(merged).toEqual([
      { name: 'a', weight: 100, objects: ['a', 'database a'], owner: { target: 't' } },
      { name: 'b', weight: 0, objects: ['database b'], owner: { target: 't' } },
    ]);
  });
});
