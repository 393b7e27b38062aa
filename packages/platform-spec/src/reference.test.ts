import { configReference, configReferenceMarkdown } from './reference';

describe('configReference', () => {
  const rows = configReference();
  const byKey = new Map(rows.map((r) => [r.key, r]));

  it('lists every key of the schema with a description', () => {
    expect(rows.map((r) => r.key)).toEqual(
      expect.arrayContaining(['cluster.name', 'provider.region', 'nodes.controllers.count', 'faultModel.domains', 'acme.environment', 'versions.kubernetes', 'layers.ingress', 'adminCidrs[]']),
    );
    for (const r of rows) expect(r.description.length).toBeGreaterThan(10);
  });

  it('marks required keys and shows defaults', () => {
    expect(byKey.get('domain')?.default).toBe('required');
    expect(byKey.get('provider.region')?.default).toBe('required');
    expect(byKey.get('nodes.volumeSizeGiB')).toMatchObject({ type: 'integer 10-16384', default: '100' });
    expect(byKey.get('acme.environment')).toMatchObject({ type: '`staging`, `production`', default: 'staging' });
    expect(byKey.get('faultModel.type')?.type).toBe('`any-third`, `failure-domains`');
  });

  it('renders a Markdown table with one row per key', () => {
    expect(configReferenceMarkdown().split('\n')).toHaveLength(rows.length + 2);
  });
});
