// The Terraform JSON is cdktf's own: the fast path of renderStack (stackJson)
// equals stack.toTerraform() on both clouds' real stacks, and a value cdktf
// would change is never left unresolved.
import { App, Fn, TerraformOutput, TerraformStack, Token, type TerraformStack as Stack } from 'cdktf';
import { DigitalOceanProvider } from '../digitalocean';
import { bootConfigs, specOf } from '../digitalocean/test-fixtures';
import { HetznerProvider } from '../hetzner';
import { fakeBoot, hetznerSpec } from '../hetzner/test-fixtures';
import * as terraformJson from './terraform-json';
import { addStateBackend, newStack, stackJson } from './terraform-json';

/** cdktf's own result, as renderStack would print it before this path existed. */
const viaCdktf = (stack: Stack) => {
  const tf = stack.toTerraform();
  delete tf['//'];
  return tf;
};

/** The stacks the providers render, caught on their way to renderStack. */
function stacksOf(render: () => void): Stack[] {
  const seen: Stack[] = [];
  const spy = jest.spyOn(terraformJson, 'renderStack').mockImplementation((stack) => {
    seen.push(stack);
    return '{}\n';
  });
  try {
    render();
  } finally {
    spy.mockRestore();
  }
  return seen;
}

const sixtyNodes = { faultModel: { type: 'failure-domains', domains: 3 } as const };

describe('stackJson', () => {
  const cases: Array<[string, () => void]> = [
    ['DigitalOcean, the example platform', () => {
      const spec = specOf();
      new DigitalOceanProvider().renderTerraform({ spec, nodes: bootConfigs(spec) });
    }],
    ['DigitalOcean, 60 nodes, secret parts from files, a DNS zone, Spaces state, NodePort ingress', () => {
      const spec = specOf((c) => {
        c.domain = 'cloud.example.com';
        c.faultModel = sixtyNodes.faultModel;
        c.nodes = { controllers: { count: 5, size: 's-4vcpu-8gb' }, workers: { count: 55, size: 's-4vcpu-8gb' } };
      });
      const nodes = bootConfigs(spec).map((n) => ({ ...n, secretPartFile: `ignition/${n.name}.secret.ign` }));
      new DigitalOceanProvider({ dns: { zone: 'example.com', createZone: true }, backend: { type: 's3', bucket: 'state' }, ingressTargetPorts: { http: 30080, https: 30443 }, ingressProxyProtocol: true }).renderTerraform({ spec, nodes });
    }],
    ['Hetzner, 5 controllers and a worker', () => {
      const spec = hetznerSpec();
      const provider = new HetznerProvider();
      provider.renderTerraform({ spec, nodes: spec.topology.nodes.map((node) => fakeBoot(provider, spec, node)) });
    }],
    ['Hetzner, 60 nodes in placement groups, a DNS zone, Object Storage state', () => {
      const spec = hetznerSpec(55, { ...sixtyNodes, domain: 'cloud.example.com' });
      const provider = new HetznerProvider({ dns: { zone: 'example.com', createZone: true }, backend: { type: 's3', bucket: 'state' } });
      provider.renderTerraform({ spec, nodes: spec.topology.nodes.map((node) => fakeBoot(provider, spec, node)) });
    }],
  ];

  it.each(cases)('equals cdktf\'s toTerraform: %s', (_name, render) => {
    const [stack] = stacksOf(render);
    expect(stack).toBeInstanceOf(TerraformStack);
    const fast = stackJson(stack);
    expect(JSON.stringify(fast)).not.toMatch(/TfToken|\$\{Token\[/);
    expect(fast).toEqual(viaCdktf(stack));
  });

  it('resolves tokens wherever cdktf does: in strings, lists, numbers, map keys and overrides', () => {
    const stack = newStack('tokens');
    addStateBackend(stack, { type: 'local', path: 'terraform.tfstate' });
    new TerraformOutput(stack, 'plain', { value: { text: 'no token: ${not.one} %{x} 1e5', list: ['a', 1, true], nested: { empty: {}, none: [] } } });
    const joined = new TerraformOutput(stack, 'joined', { value: Fn.join(',', ['a', 'b']) });
    // One output each, so no token rides along in a value handed to cdktf whole for another.
    const tokens: Record<string, unknown> = {
      inString: { text: `prefix-${Fn.upper('x')}-suffix` },
      list: { items: Fn.concat([['a'], ['b']]), beside: ['c'] },
      number: { count: Fn.lengthOf(['a', 'b']), plain: 3 },
      numberInString: { text: `n=${Fn.lengthOf(['a'])}` },
      mapKey: { [Fn.lower('KEY')]: 'value' },
      reference: { value: joined.value },
    };
    for (const [name, value] of Object.entries(tokens)) new TerraformOutput(stack, name, { value });
    stack.addOverride('terraform.required_providers.extra', { source: `example/${Fn.lower('X')}` });
    const fast = stackJson(stack);
    expect(fast).toEqual(viaCdktf(stack));
    expect(JSON.stringify(fast)).not.toMatch(/TfToken/);
    expect(JSON.stringify(fast)).toContain('no token: ${not.one} %{x} 1e5');
  });

  it('finds every number token cdktf writes into a string: each prints with a digit, then e+2 and two digits', () => {
    const stack = newStack('numbers');
    const printed = Array.from({ length: 2000 }, (_, i) => `${Fn.lengthOf(Array.from({ length: (i % 5) + 1 }, () => 'x'))}`);
    const lists = Array.from({ length: 200 }, () => `${Token.asNumberList(Fn.concat([[1], [2]]))[0]}`);
    for (const text of [...printed, ...lists]) expect(text).toMatch(/\de\+2\d\d/);
    // And stackJson resolves each of them as cdktf does.
    new TerraformOutput(stack, 'numbers', { value: { texts: printed.slice(0, 50).map((p) => `n=${p}`) } });
    expect(stackJson(stack)).toEqual(viaCdktf(stack));
  });

  it('leaves a stack of another app alone: nested stacks are not its elements', () => {
    const app = new App({ outdir: '/tmp', stackTraces: false });
    const outer = new TerraformStack(app, 'outer');
    new TerraformOutput(outer, 'x', { value: 'x' });
    const inner = new TerraformStack(outer, 'inner');
    new TerraformOutput(inner, 'y', { value: 'y' });
    expect(stackJson(outer)).toEqual(viaCdktf(outer));
    expect(Object.keys(stackJson(outer).output as object)).toEqual(['x']);
  });
});
