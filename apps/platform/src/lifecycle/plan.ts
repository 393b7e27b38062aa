import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LifecycleOptions } from './options';
import { renderAndVerify, type Rendered } from './render';
import { terraformPlan } from './terraform-plan';
import type { MonthlyCost } from '@keelson/platform-spec';
import { formatMonthlyCost, formatPlanSummary, summarizeRenderedTerraform, type PlanSummary } from './plan-summary';
import { runSteps, type StepEvent } from './steps';
import { TerraformError } from './terraform';

export interface PlanResult {
  readonly rendered: Rendered;
  readonly summary: PlanSummary;
  /** What the platform costs a month on its cloud, from the provider's dated price table. */
  readonly cost: MonthlyCost;
  /** False when verify failed: the summary is shown, but deploy would refuse this config. */
  readonly verified: boolean;
}

/** Why Terraform's plan could not be used, in one line the user can act on. */
export function whyNoTerraformPlan(error: unknown, binary: string, credentials: readonly string[]): string {
  if (error instanceof TerraformError) {
    const step = error.args[1] ?? 'command';
    const hint = step === 'init' ? 'no network to download the providers?' : /token|credential|401|403|auth/i.test(error.tail) ? `set ${credentials.join(', ')}` : 'no cloud credentials?';
    return `${binary} ${step} failed (${hint}): ${error.tail || `exit ${error.exitCode}`}`;
  }
  return (error as Error).message;
}

/**
 * `keelson plan`: synth, verify, and what Terraform would do, in one screen.
 * A config that fails verify still gets its summary (plan changes nothing),
 * followed by verify's report; the result says it is not deployable.
 * When Terraform is missing or cannot reach the cloud, the summary comes
 * from the rendered main.tf.json (everything to add), with the reason.
 */
export async function plan(o: LifecycleOptions): Promise<PlanResult> {
  const events: StepEvent[] = o.events ?? [];
  let rendered: Rendered | undefined;
  let summary: PlanSummary | undefined;
  await runSteps(
    [
      {
        id: 'render',
        title: 'Render and verify',
        run: async () => {
          // plan shows what would happen even for a config verify refuses; deploy never goes on with one.
          rendered = await renderAndVerify(o, true);
          return `${rendered.spec.topology.nodes.length} nodes, verify ${rendered.verifyFailure ? 'FAILED' : 'passed'}`;
        },
      },
      {
        id: 'terraform-plan',
        title: 'Terraform plan',
        run: async (report) => {
          const fallback = (reason: string) => summarizeRenderedTerraform(readFileSync(join(rendered!.infraDir, 'main.tf.json'), 'utf8'), reason);
          if (!o.terraform) {
            summary = fallback(o.terraformMissing ?? 'no terraform or tofu on PATH (set KEELSON_TERRAFORM or --terraform-bin)');
            return 'from the rendered JSON (no Terraform binary)';
          }
          try {
            summary = await terraformPlan(o.terraform, report);
            return 'from terraform plan';
          } catch (e) {
            // The cloud's own variable names, from its provider.
            const { provider } = rendered!;
            summary = fallback(whyNoTerraformPlan(e, o.terraform.binary, [provider.apiTokenVariable, ...provider.objectStoreCredentialVariables]));
            return 'from the rendered JSON (Terraform could not plan)';
          }
        },
      },
    ],
    { renderer: o.renderer ?? 'default', events },
  );
  for (const line of rendered!.notes) o.print(line);
  for (const line of formatPlanSummary(summary!)) o.print(line);
  // The price table of the run's provider.
  const cost = rendered!.provider.monthlyCost(rendered!.spec);
  for (const line of formatMonthlyCost(cost, rendered!.spec)) o.print(line);
  if (rendered!.verifyFailure) {
    o.print(rendered!.verifyFailure);
    o.print('keelson plan: verify FAILED; "keelson deploy" refuses this config until "keelson verify" passes');
  }
  return { rendered: rendered!, summary: summary!, cost, verified: !rendered!.verifyFailure };
}
