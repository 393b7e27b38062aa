import { ApiObject, Chart, Lazy } from 'cdk8s';
import type { Construct, IConstruct } from 'constructs';
import { checkTrafficRule, type LayerId, type LayerInfo, type NamespacePlan, type PlatformSpec, type TrafficRule } from '@keelson/platform-spec';
import { SYNC_WAVE } from './sync-order';
import type { UpstreamDeclaration } from './upstream-chart';

/** Label every Keelson object carries, so `kubectl get -l` finds the platform. */
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
/** Label naming the layer an object belongs to. */
export const LAYER_LABEL = 'keelson.dev/layer';

/** A namespace name: a DNS-1123 label. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Props for {@link LayerChart}. */
export interface LayerChartProps {
  /** The checked platform spec. */
  readonly spec: PlatformSpec;
  /** Which layer of `spec.layers` this chart renders. */
  readonly layer: LayerId;
  /**
   * The namespaces the layer owns, when it is not the implementation the
   * spec planned (a storage, ingress or pod network of your own, passed to
   * `composePlatform`): they replace the plan's, and are rendered, allowed
   * to Argo CD and default-denied like planned ones.
   * @default - the layer plan's (`planLayers` in platform-spec)
   */
  readonly namespaces?: readonly NamespacePlan[];
  /**
   * The implementation's name, when not the planned one (`local-path`).
   * @default - the layer plan's (the config's choice)
   */
  readonly implementation?: string;
}

/**
 * One cdk8s Chart per layer, rendered to `charts-out/<folder>/`.
 *
 * Creates the layer's namespaces with Pod Security Admission labels, so a
 * layer cannot forget them, in the first sync wave of the folder (see
 * {@link LayerChart.namespaceSyncWave}). Components inside a layer are plain
 * Constructs, not Charts: cdk8s validates the whole app once per chart.
 */
export class LayerChart extends Chart {
  /** The layer's plan from the spec: folder, sync wave, namespaces. */
  public readonly layer: LayerInfo;
  /** The platform spec the layer renders from. */
  public readonly spec: PlatformSpec;
  /** Folder under `charts-out/` that {@link renderCharts} writes this chart to: the layer's folder. */
  public readonly outputFolder: string;
  private readonly upstream: UpstreamDeclaration[] = [];
  private readonly traffic: TrafficRule[] = [];
  private readonly added: NamespacePlan[] = [];
  private readonly namespaceObjects = new Set<ApiObject>();

  /** The LayerChart a construct belongs to; throws when it is not inside one. */
  public static containing(construct: IConstruct): LayerChart {
    const chart = construct.node.scopes.reverse().find((c) => c instanceof LayerChart);
    if (chart) return chart as LayerChart;
    throw new Error(`${construct.node.path}: not inside a LayerChart; create it in a layer's chart so its traffic and namespaces are known`);
  }

  constructor(scope: Construct, id: string, props: LayerChartProps) {
    const layer = props.spec.layers.find((l) => l.id === props.layer);
    if (!layer) {
      throw new Error(`LayerChart: no layer "${props.layer}" in the platform spec; known layers: ${props.spec.layers.map((l) => l.id).join(', ')}`);
    }
    for (const ns of props.namespaces ?? []) {
      if (!NAMESPACE_NAME.test(ns.name)) {
        throw new Error(`LayerChart ${layer.id}: namespaces: "${ns.name}" is not a namespace name; use lower-case letters, digits and '-', at most 63`);
      }
      const owner = props.spec.layers.find((l) => l.id !== layer.id && l.namespaces.some((n) => n.name === ns.name && !n.preexisting));
      if (owner) throw new Error(`LayerChart ${layer.id}: namespaces: "${ns.name}" is layer ${owner.id}'s; a layer owns its own namespaces, pick another name`);
    }
    super(scope, id, {
      disableResourceNameHashes: true,
      labels: { [PART_OF_LABEL]: 'keelson', [LAYER_LABEL]: layer.id },
    });
    this.layer = {
      ...layer,
      ...(props.namespaces && { namespaces: props.namespaces }),
      ...(props.implementation && { implementation: props.implementation }),
    };
    this.spec = props.spec;
    this.outputFolder = layer.folder;
    for (const ns of this.layer.namespaces.filter((n) => !n.preexisting)) this.renderNamespace(ns);
  }

  /**
   * The sync wave of the layer's Namespaces: one before the earliest object
   * of the folder (and at most -1), worked out when the chart is synthesized.
   *
   * Argo CD applies a folder wave by wave and waits for each to be healthy;
   * a child Application whose namespace came in a later wave could never
   * sync, and the folder would wait for it forever. With the namespaces
   * first, every child Application, and everything else, finds its
   * namespace in place.
   *
   * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
   */
  public get namespaceSyncWave(): number {
    let earliest = 0;
    for (const o of this.node.findAll()) {
      if (!(o instanceof ApiObject) || this.namespaceObjects.has(o)) continue;
      const wave = Number((o.metadata.toJson() as { annotations?: Record<string, unknown> }).annotations?.[SYNC_WAVE] ?? 0);
      if (Number.isInteger(wave) && wave < earliest) earliest = wave;
    }
    return earliest - 1;
  }

  /** Records what the layer installs from upstream (see UpstreamHelmChart), for the AppProject. */
  public declareUpstream(declaration: UpstreamDeclaration): void {
    this.upstream.push(declaration);
  }

  /**
   * The namespaces this chart owns: the layer's plan from the spec, plus any
   * added with {@link addNamespace}.
   */
  public get namespaces(): readonly NamespacePlan[] {
    return [...this.layer.namespaces, ...this.added];
  }

  /**
   * Adds a namespace the plan does not name (an app of your own), rendered
   * with its Pod Security labels like the planned ones; the network layer
   * default-denies it and Argo CD is allowed to sync into it. Returns its name.
   */
  public addNamespace(ns: NamespacePlan): string {
    if (ns.preexisting) throw new Error(`LayerChart ${this.layer.id}: addNamespace("${ns.name}") with preexisting; only namespaces the layer creates can be added`);
    if (!NAMESPACE_NAME.test(ns.name)) {
      throw new Error(`LayerChart ${this.layer.id}: addNamespace("${ns.name}"): not a namespace name; use lower-case letters, digits and '-', at most 63`);
    }
    const planned = this.spec.layers.flatMap((l) => l.namespaces.map((n) => ({ layer: l.id, name: n.name })));
    const clash = [...planned, ...this.added.map((n) => ({ layer: this.layer.id, name: n.name }))].find((n) => n.name === ns.name);
    if (clash) throw new Error(`LayerChart ${this.layer.id}: addNamespace("${ns.name}"): layer ${clash.layer} already has it; pick another name`);
    this.renderNamespace(ns);
    this.added.push(ns);
    return ns.name;
  }

  /** A Namespace of the layer, in the folder's first sync wave. */
  private renderNamespace(ns: NamespacePlan): void {
    const object = new ApiObject(this, `namespace-${ns.name}`, namespaceManifest(ns, this.spec.config.versions.kubernetes));
    object.metadata.addAnnotation(SYNC_WAVE, Lazy.any({ produce: () => String(this.namespaceSyncWave) }));
    this.namespaceObjects.add(object);
  }

  /**
   * Declares a connection this layer's workloads need (checked at once).
   * The network layer renders every declared rule as policies at both ends;
   * anything undeclared is denied in the platform's namespaces.
   */
  public allowTraffic(rule: TrafficRule): void {
    this.traffic.push(checkTrafficRule(rule));
  }

  /** The connections this layer declared, in order. */
  public get trafficRules(): readonly TrafficRule[] {
    return [...this.traffic];
  }

  /** Everything the layer installs from upstream charts. */
  public get upstreamDeclarations(): readonly UpstreamDeclaration[] {
    return [...this.upstream];
  }
}

/**
 * A Namespace enforcing its Pod Security level, auditing against
 * `restricted` so every looser pod is still logged.
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces
 */
export function namespaceManifest(ns: NamespacePlan, kubernetesVersion: string) {
  if (ns.podSecurity !== 'restricted' && !ns.reason) {
    throw new Error(`namespace ${ns.name}: Pod Security "${ns.podSecurity}" needs a reason; say why it cannot be "restricted"`);
  }
  const version = `v${kubernetesVersion}`;
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: ns.name,
      labels: {
        'pod-security.kubernetes.io/enforce': ns.podSecurity,
        'pod-security.kubernetes.io/enforce-version': version,
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/audit-version': version,
        'pod-security.kubernetes.io/warn': ns.podSecurity,
        'pod-security.kubernetes.io/warn-version': version,
      },
      ...(ns.reason ? { annotations: { 'keelson.dev/pod-security-reason': ns.reason } } : {}),
    },
  };
}
