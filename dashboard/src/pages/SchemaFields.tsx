// Form fields for a template's install parameters, from its JSON Schema: one field per
// top-level property (strings, enums, integers, numbers, booleans), with the schema's title,
// description, default, bounds and required list. The server checks the whole schema again.

import { Form, Input, InputNumber, Select, Switch } from "antd";

export type PropertySchema = {
  title?: string;
  description?: string;
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  pattern?: string;
};
export type ObjectSchema = { properties?: Record<string, PropertySchema>; required?: string[] };

/** The schema's defaults, as initial values. */
export function defaults(schema: ObjectSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(schema?.properties ?? {})) {
    if (p.default !== undefined) out[k] = p.default;
  }
  return out;
}

/** The values to send: empty optional fields left out. */
export function present(values: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== ""));
}

export function SchemaFields({ schema, name }: { schema: ObjectSchema; name: string }) {
  const required = new Set(schema.required ?? []);
  return (
    <>
      {Object.entries(schema.properties ?? {}).map(([key, p]) => {
        const type = Array.isArray(p.type) ? p.type.find((x) => x !== "null") : p.type;
        const rules = [
          { required: required.has(key) },
          ...(p.pattern ? [{ pattern: new RegExp(p.pattern) }] : []),
          ...(p.maxLength ? [{ max: p.maxLength }] : []),
        ];
        const common = { name: [name, key], label: p.title ?? key, extra: p.description, rules };
        if (p.enum) {
          return (
            <Form.Item key={key} {...common}>
              <Select options={p.enum.map((v) => ({ value: v as string, label: String(v) }))} />
            </Form.Item>
          );
        }
        if (type === "integer" || type === "number") {
          return (
            <Form.Item key={key} {...common}>
              <InputNumber min={p.minimum} max={p.maximum} precision={type === "integer" ? 0 : undefined} />
            </Form.Item>
          );
        }
        if (type === "boolean") {
          return (
            <Form.Item key={key} {...common} valuePropName="checked">
              <Switch />
            </Form.Item>
          );
        }
        return (
          <Form.Item key={key} {...common}>
            <Input />
          </Form.Item>
        );
      })}
    </>
  );
}
