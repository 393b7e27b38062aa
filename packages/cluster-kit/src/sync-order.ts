/**
 * Annotation Argo CD orders a sync by: lower waves first, each wave applied
 * and healthy before the next (default 0).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
 */
export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';

/** Argo CD's per-resource sync options annotation. @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/ */
export const SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';

/**
 * Sync option for a custom resource whose CRD is not in the cluster yet.
 *
 * Argo CD dry-runs every resource of an Application before it applies the
 * first wave; a custom resource of a type the API server does not know fails
 * that dry run, and with it the whole sync, unless it carries this option
 * (Argo CD skips the dry run on its own only when the CRD is in the same
 * Application).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/#skip-dry-run-for-new-custom-resources-types
 */
export const SKIP_DRY_RUN: Readonly<Record<string, string>> = { [SYNC_OPTIONS]: 'SkipDryRunOnMissingResource=true' };

/**
 * Something that installs CRDs into the cluster from a layer folder: the
 * Argo CD Application of an {@link UpstreamHelmChart} or
 * {@link UpstreamManifests} (or of an operator that registers them at start).
 */
export interface CrdInstaller {
  /** Its Application's name, for error messages. */
  readonly applicationName: string;
  /** Its Application's sync wave inside the layer folder. */
  readonly syncWave: number;
}

/**
 * Annotations for a custom resource of the layer whose CRD comes from
 * `installers`, child Applications in the same layer folder: a sync wave
 * after every one of them, so Argo CD waits until they are synced and
 * healthy (their CRDs registered, their operators and webhooks running),
 * and {@link SKIP_DRY_RUN}, so the dry run of the folder does not fail while
 * the CRDs are missing.
 *
 * A CR whose CRD comes from an earlier layer needs neither: that layer's
 * Application is healthy before this folder syncs at all.
 *
 * @param installers the Applications that install the CRD (and whatever the CR needs running)
 * @param wave the wave to use when a later one is needed (a CR that needs another CR first); by default the one after the latest of `installers`
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/#skip-dry-run-for-new-custom-resources-types
 */
export function afterCrds(installers: CrdInstaller | readonly CrdInstaller[], wave?: number): Record<string, string> {
  const list: readonly CrdInstaller[] = Array.isArray(installers) ? installers : [installers as CrdInstaller];
  if (list.length === 0) throw new Error('afterCrds: no installer given; pass the UpstreamHelmChart or UpstreamManifests whose Application installs the CRD');
  const latest = list.reduce((a, b) => (b.syncWave > a.syncWave ? b : a));
  const chosen = wave ?? latest.syncWave + 1;
  if (!Number.isInteger(chosen)) throw new Error(`afterCrds: wave ${chosen} is not a whole number`);
  if (chosen <= latest.syncWave) {
    throw new Error(
      `afterCrds: wave ${chosen} is not after Application ${latest.applicationName} (wave ${latest.syncWave}), which installs the CRD; use wave ${latest.syncWave + 1} or later`,
    );
  }
  return { [SYNC_WAVE]: String(chosen), ...SKIP_DRY_RUN };
}
