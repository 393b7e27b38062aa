import * as z from 'zod';
import { platformConfigSchema } from './config-schema';

/** One key of the config file, for docs and `--help`. */
export interface ConfigKey {
  /** Dotted path; `[]` marks list items. */
  readonly key: string;
  /** Type, or the allowed values. */
  readonly type: string;
  /** `required`, or the default as YAML would show it. */
  readonly default: string;
  readonly description: string;
}

type JsonSchema = {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  oneOf?: JsonSchema[];
};

const SAFE = Number.MAX_SAFE_INTEGER;

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(', ');
  if (s.const !== undefined) return `\`${String(s.const)}\``;
  if (s.type === 'integer') {
    const lo = s.minimum !== undefined && s.minimum > -SAFE ? s.minimum : undefined;
    const hi = s.maximum !== undefined && s.maximum < SAFE ? s.maximum : undefined;
    return lo !== undefined && hi !== undefined ? `integer ${lo}-${hi}` : lo !== undefined ? `integer >= ${lo}` : 'integer';
  }
  if (s.format === 'email') return 'e-mail address';
  return s.type ?? 'value';
}

/**
 * Every key of the platform config with its type, default and meaning,
 * read from the zod schema itself, so docs cannot drift from the code.
 */
export function configReference(): ConfigKey[] {
  const rows: ConfigKey[] = [];
  const walk = (s: JsonSchema, path: string, required: boolean, inheritedDefault?: unknown) => {
    const dflt = s.default ?? inheritedDefault;
    if (s.oneOf) {
      // A discriminated union: list each option's keys once, merging allowed values.
      const merged: Record<string, JsonSchema> = {};
      for (const option of s.oneOf) {
        for (const [k, v] of Object.entries(option.properties ?? {})) {
          const prev = merged[k];
          const valuesOf = (x: JsonSchema) => x.enum ?? (x.const !== undefined ? [x.const] : []);
          const values = prev ? [...new Set([...valuesOf(prev), ...valuesOf(v)])] : [];
          merged[k] = prev
            ? {
                ...prev,
                ...(values.length > 0 ? { enum: values, const: undefined } : {}),
                description: [prev.description, v.description].filter(Boolean).join(' '),
              }
            : v;
        }
      }
      const requiredInAll = Object.keys(merged).filter((k) => s.oneOf!.every((o) => (o.required ?? []).includes(k)));
      walk({ type: 'object', properties: merged, required: requiredInAll, description: s.description }, path, required, dflt);
      return;
    }
    if (s.type === 'object' && s.properties) {
      for (const [k, v] of Object.entries(s.properties)) {
        const child = dflt && typeof dflt === 'object' ? (dflt as Record<string, unknown>)[k] : undefined;
        walk(v, path ? `${path}.${k}` : k, (s.required ?? []).includes(k) && dflt === undefined, child);
      }
      return;
    }
    if (s.type === 'array' && s.items) {
      rows.push({ key: `${path}[]`, type: `list of ${typeOf(s.items)}`, default: required ? 'required' : JSON.stringify(dflt ?? []), description: s.description ?? s.items.description ?? '' });
      return;
    }
    rows.push({
      key: path,
      type: typeOf(s),
      default: dflt !== undefined ? String(dflt) : required ? 'required' : '-',
      description: s.description ?? '',
    });
  };
  walk(z.toJSONSchema(platformConfigSchema, { io: 'input' }) as JsonSchema, '', true);
  return rows;
}

/** {@link configReference} as a Markdown table. */
export function configReferenceMarkdown(): string {
  const esc = (t: string) => t.replace(/\|/g, '\\|');
  return [
    '| key | type | default | meaning |',
    '|---|---|---|---|',
    ...configReference().map((r) => `| \`${r.key}\` | ${esc(r.type)} | ${r.default === 'required' ? '**required**' : `\`${esc(r.default)}\``} | ${esc(r.description)} |`),
  ].join('\n');
}
