import type { IConstruct } from 'constructs';
import { LayerChart } from '@keelson/cluster-kit';
import { endpoints, type ExposedService, type ExposeOptions, type IngressLayer, type ServiceRef, type StorageLayer } from '@keelson/platform-spec';

/** Labels of the stand-in ingress controller's pods. */
export const TEST_CONTROLLER_LABELS = { 'app.kubernetes.io/name': 'traefik' };

/** One call to {@link RecordingIngress.expose}. */
export interface ExposeCall {
  readonly scopePath: string;
  readonly service: ServiceRef;
  readonly host: string;
  readonly options?: ExposeOptions;
}

/**
 * A stand-in for the ingress layer: records every expose() and declares the
 * controller-to-service allow the way the real ingress layer does.
 */
export class RecordingIngress implements IngressLayer {
  public readonly namespace = 'traefik';
  public readonly loadBalancerTarget = { http: 30080, https: 30443, proxyProtocol: true };
  public readonly calls: ExposeCall[] = [];

  public expose(scope: IConstruct, service: ServiceRef, host: string, options?: ExposeOptions): ExposedService {
    this.calls.push({ scopePath: scope.node.path, service, host, ...(options ? { options } : {}) });
    LayerChart.containing(scope).allowTraffic({
      from: endpoints.pods(this.namespace, TEST_CONTROLLER_LABELS),
      to: endpoints.pods(service.namespace, service.podLabels),
      ports: [{ port: service.targetPort ?? service.port }],
      reason: `ingress controller serves ${host}`,
    });
    return { host, url: `https://${host}`, tlsSecretName: `${host.replace(/\./g, '-')}-tls` };
  }
}

/** The storage layer's class names, as storage-rook names them. */
export const TEST_STORAGE: StorageLayer = {
  blockClass: 'ceph-block',
  filesystemClass: 'ceph-filesystem',
  blockSnapshotClass: 'ceph-block-snapshot',
  filesystemSnapshotClass: 'ceph-filesystem-snapshot',
  overheadSummary: 'raw: as storage-rook states it',
};
