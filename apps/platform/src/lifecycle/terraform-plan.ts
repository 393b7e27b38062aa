import { summarizeTerraformPlan, type PlanSummary } from './plan-summary';
import { terraformArgs, type TerraformAdapter } from './terraform';

/** init, plan to infra-out/tfplan, and the plan's summary from `show -json`. */
export async function terraformPlan(terraform: TerraformAdapter, report: (text: string) => void): Promise<PlanSummary> {
  report(`${terraform.binary} init`);
  await terraform.run(terraformArgs.init());
  report(`${terraform.binary} plan`);
  await terraform.run(terraformArgs.plan());
  return summarizeTerraformPlan(await terraform.run(terraformArgs.show()));
}

/** A node's addresses, from Terraform's `node_addresses` output. */
export interface NodeAddresses {
  readonly public?: string;
  readonly private?: string;
}

/** Parses `terraform output -json`'s `node_addresses` (sensitive: never printed). */
export function nodeAddressesFrom(outputJson: string): Record<string, NodeAddresses> {
  const outputs = JSON.parse(outputJson) as { node_addresses?: { value?: Record<string, NodeAddresses> } };
  return outputs.node_addresses?.value ?? {};
}
