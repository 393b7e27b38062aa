import { App } from 'cdk8s';
import { LayerChart } from '@keelson/cluster-kit';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { CloudNativePgOperator } from './cloudnative-pg';
import { jellyfin, MediaServer } from './media-server';
import { Nextcloud } from './nextcloud';
import { RecordingIngress, TEST_STORAGE } from './test-ingress';

const spec = parsePlatformConfig(exampleConfig());
const layer = () => new LayerChart(new App(), 'apps', { spec, layer: 'apps' });

describe('refusals', () => {
  it('refuses media tolerations that break the recovery bound, naming the arithmetic and the range', () => {
    expect(() => new MediaServer(layer(), 'media', { spec, ingress: new RecordingIngress(), storage: TEST_STORAGE, host: 'media.example.com', tolerationSeconds: 300 })).toThrow(
      /MediaServer: tolerationSeconds 300 gives a recovery of 50 s \(node-monitor grace period\) \+ 300 s \+ 30 s \(start\) = 380 s, over the 90 s bound; use a whole number from 0 to 10/,
    );
    expect(() => new MediaServer(layer(), 'media', { spec, ingress: new RecordingIngress(), storage: TEST_STORAGE, host: 'media.example.com', tolerationSeconds: -1 })).toThrow(/tolerationSeconds -1/);
  });

  it('refuses a media server of your own whose id cannot name its objects', () => {
    expect(() => new MediaServer(layer(), 'media', { spec, ingress: new RecordingIngress(), storage: TEST_STORAGE, host: 'media.example.com', implementation: { ...jellyfin, id: 'Plex Server' } })).toThrow(
      /MediaServer: implementation.id "Plex Server" names its Deployment, Service and claim "Plex Server-config"; use lower-case letters/,
    );
  });

  it('accepts a shorter toleration within the bound', () => {
    const media = new MediaServer(layer(), 'media', { spec, ingress: new RecordingIngress(), storage: TEST_STORAGE, host: 'media.example.com', tolerationSeconds: 0 });
    expect(media.tolerationSeconds).toBe(0);
  });

  it('refuses a volume size that is not a whole number of GiB', () => {
    const chart = layer();
    const operator = new CloudNativePgOperator(chart, 'cloudnative-pg', { spec });
    expect(() => new Nextcloud(chart, 'nextcloud', { spec, ingress: new RecordingIngress(), storage: TEST_STORAGE, operator, host: 'cloud.example.com', dataSizeGiB: 0.5 })).toThrow(
      /Nextcloud: dataSizeGiB 0.5 is not a whole number of GiB >= 1/,
    );
  });
});
