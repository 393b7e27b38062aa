import { TerraformDataSource, TerraformOutput, TerraformProvider, TerraformResource, type TerraformResourceLifecycle } from 'cdktf';
import type { Construct } from 'constructs';

/**
 * Generic cdktf elements for providers without prebuilt bindings (the stack
 * is rendered by `../internal/terraform-json.ts`, shared by both clouds).
 *
 * Attribute names are written as Terraform spells them (snake_case); values
 * may hold cdktf tokens (`ref()`), which render as `${type.name.attr}`.
 */

/** A Terraform JSON value: what an attribute may hold. */
export type TfValue = string | number | boolean | readonly TfValue[] | { readonly [key: string]: TfValue | undefined };

/** Attributes of a block, `undefined` ones left out. */
export type TfAttributes = { readonly [key: string]: TfValue | undefined };

/** A provider to declare in `required_providers` and configure. */
export interface ProviderPin {
  /** Registry address, e.g. `hetznercloud/hcloud`. */
  readonly source: string;
  /** Version constraint, e.g. `~> 1.63`. */
  readonly version: string;
}

/** A provider configured with `attributes`; credentials come from the environment, never from here. */
export class GenericProvider extends TerraformProvider {
  constructor(
    scope: Construct,
    /** Local name, e.g. `hcloud`: the prefix of its resource types. */
    name: string,
    pin: ProviderPin,
    private readonly attributes: TfAttributes = {},
  ) {
    super(scope, `provider-${name}`, {
      terraformResourceType: name,
      terraformGeneratorMetadata: { providerName: name, providerVersionConstraint: pin.version },
      terraformProviderSource: pin.source,
    });
  }

  protected override synthesizeAttributes(): TfAttributes {
    return this.attributes;
  }
}

/** What a generic resource or data source is made of. */
export interface GenericBlockProps {
  readonly provider: GenericProvider;
  /** Resource type, e.g. `hcloud_server`. */
  readonly type: string;
  /** Terraform name (the address is `<type>.<name>`): part of the contract, stable. */
  readonly name: string;
  readonly attributes: TfAttributes;
  readonly dependsOn?: readonly TerraformResource[];
  readonly lifecycle?: TerraformResourceLifecycle;
}

/** A resource of any type, addressed as `<type>.<name>`. */
export class GenericResource extends TerraformResource {
  private readonly attributes: TfAttributes;

  constructor(scope: Construct, props: GenericBlockProps) {
    super(scope, `${props.type}.${props.name}`, {
      terraformResourceType: props.type,
      terraformGeneratorMetadata: { providerName: props.provider.terraformResourceType },
      provider: props.provider,
      dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
      lifecycle: props.lifecycle,
    });
    this.attributes = props.attributes;
    this.overrideLogicalId(props.name);
  }

  /** `<type>.<name>`, as Terraform and the security assertions name it. */
  get address(): string {
    return `${this.terraformResourceType}.${this.friendlyUniqueId}`;
  }

  /** A reference to one of the resource's attributes (`${type.name.attr}`). */
  ref(attribute: string): string {
    return this.getStringAttribute(attribute);
  }

  protected override synthesizeAttributes(): TfAttributes {
    return this.attributes;
  }
}

/** A data source of any type, addressed as `data.<type>.<name>`. */
export class GenericDataSource extends TerraformDataSource {
  private readonly attributes: TfAttributes;

  constructor(scope: Construct, props: Omit<GenericBlockProps, 'dependsOn' | 'lifecycle'>) {
    super(scope, `data.${props.type}.${props.name}`, {
      terraformResourceType: props.type,
      terraformGeneratorMetadata: { providerName: props.provider.terraformResourceType },
      provider: props.provider,
    });
    this.attributes = props.attributes;
    this.overrideLogicalId(props.name);
  }

  ref(attribute: string): string {
    return this.getStringAttribute(attribute);
  }

  protected override synthesizeAttributes(): TfAttributes {
    return this.attributes;
  }
}

/** Declares an output named `name`. */
export function output(scope: Construct, name: string, props: { value: TfValue; description: string; sensitive?: boolean }): TerraformOutput {
  const out = new TerraformOutput(scope, `output.${name}`, { value: props.value, description: props.description, sensitive: props.sensitive });
  out.overrideLogicalId(name);
  return out;
}

/** A literal string as Terraform must see it in JSON (shared with DigitalOcean). */
export { terraformLiteral as literal } from '../internal/secret-part';
