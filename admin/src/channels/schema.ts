/** The part of JSON Schema (draft 2020-12, as zod 4 writes it) that channel configs use. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  title?: string;
  description?: string;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

export type Field =
  | { kind: 'string'; format?: string; pattern?: string; minLength?: number; maxLength?: number }
  | { kind: 'number'; integer: boolean; minimum?: number; maximum?: number }
  | { kind: 'boolean' }
  | { kind: 'enum'; options: (string | number)[] }
  | { kind: 'strings'; pattern?: string; format?: string; allowed?: string[]; minItems?: number; maxItems?: number }
  | { kind: 'choices'; options: (string | number)[]; minItems?: number; maxItems?: number }
  | { kind: 'object'; fields: Property[] }
  /** A record keyed by a name the admin chooses (WeChat templates by name). */
  | { kind: 'map'; value: Field }
  | { kind: 'unknown' };

export interface Property {
  name: string;
  field: Field;
  required: boolean;
  nullable: boolean;
  default?: unknown;
  description?: string;
}

/** `X | null` is written as anyOf [X, {type: null}]: the field is X, and null may clear it. */
function unwrapNullable(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const options = schema.anyOf?.filter((option) => option.type !== 'null');
  if (schema.anyOf && options?.length === 1 && options.length < schema.anyOf.length) {
    return { schema: { ...options[0], default: schema.default ?? options[0]!.default, description: schema.description ?? options[0]!.description }, nullable: true };
  }
  return { schema, nullable: false };
}

/** The constants of an enum or of a union of literals, when the schema is one. */
function constants(schema: JsonSchema): (string | number)[] | undefined {
  if (schema.enum) return schema.enum.filter((v): v is string | number => typeof v === 'string' || typeof v === 'number');
  if (schema.anyOf?.every((option) => option.const !== undefined)) return schema.anyOf.map((option) => option.const as string | number);
  return undefined;
}

const smallRange = (schema: JsonSchema) =>
  (schema.type === 'integer' && schema.minimum !== undefined && schema.maximum !== undefined && schema.maximum - schema.minimum <= 31
    ? Array.from({ length: schema.maximum - schema.minimum + 1 }, (_, i) => schema.minimum! + i)
    : undefined);

export function describeField(schema: JsonSchema): Field {
  const fixed = constants(schema);
  if (fixed) return { kind: 'enum', options: fixed };
  if (schema.anyOf) {
    // A string that may also be one of a few literals (`"*"` or an origin): free text, told which literals are allowed.
    const strings = schema.anyOf.filter((option) => option.type === 'string');
    if (strings.length === schema.anyOf.length) {
      const free = strings.find((option) => option.const === undefined);
      return { kind: 'string', format: free?.format, pattern: free?.pattern };
    }
    return { kind: 'unknown' };
  }
  switch (schema.type) {
    case 'string':
      return { kind: 'string', format: schema.format, pattern: schema.pattern, minLength: schema.minLength, maxLength: schema.maxLength };
    case 'integer':
    case 'number':
      return { kind: 'number', integer: schema.type === 'integer', minimum: schema.minimum, maximum: schema.maximum };
    case 'boolean':
      return { kind: 'boolean' };
    case 'array': {
      const items = schema.items ?? {};
      const options = constants(items) ?? smallRange(items);
      if (options) return { kind: 'choices', options, minItems: schema.minItems, maxItems: schema.maxItems };
      const item = describeField(items);
      if (item.kind === 'string') {
        const allowed = items.anyOf?.filter((option) => typeof option.const === 'string').map((option) => option.const as string);
        return { kind: 'strings', pattern: item.pattern, format: item.format, allowed, minItems: schema.minItems, maxItems: schema.maxItems };
      }
      return { kind: 'unknown' };
    }
    case 'object':
      if (schema.properties) return { kind: 'object', fields: describeProperties(schema) };
      if (typeof schema.additionalProperties === 'object') return { kind: 'map', value: describeField(schema.additionalProperties) };
      return { kind: 'unknown' };
    default:
      return { kind: 'unknown' };
  }
}

export function describeProperties(schema: JsonSchema): Property[] {
  return Object.entries(schema.properties ?? {}).map(([name, raw]) => {
    const { schema: property, nullable } = unwrapNullable(raw);
    return {
      name,
      field: describeField(property),
      required: schema.required?.includes(name) ?? false,
      nullable,
      default: property.default,
      description: property.description ?? property.title,
    };
  });
}

/** A map is edited as a list of `{ key, ...value }` rows: a form cannot have fields named by the user. */
export const mapKey = '__key';

/** The form's starting values: stored values where there are some, the schema's defaults elsewhere. */
export function toFormValues(properties: Property[], stored: Record<string, unknown> | undefined): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const property of properties) {
    const value = stored ? stored[property.name] : property.default;
    if (property.field.kind === 'object' && (value !== undefined || property.required)) {
      values[property.name] = toFormValues(property.field.fields, value as Record<string, unknown> | undefined);
    } else if (property.field.kind === 'map') {
      const inner = property.field.value;
      values[property.name] = Object.entries((value ?? {}) as Record<string, unknown>).map(([key, entry]) => ({
        [mapKey]: key,
        ...(inner.kind === 'object' ? toFormValues(inner.fields, entry as Record<string, unknown>) : { value: entry }),
      }));
    } else if (value !== undefined && value !== null) {
      values[property.name] = value;
    }
  }
  return values;
}

const isBlank = (value: unknown) => value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);

/**
 * The config to send from the form's values. Blank fields are left out, so a stored value (a
 * secret in particular) is kept; a nullable field the admin emptied is sent as null to clear it.
 * `present` names the optional sections (nested objects) the admin switched on.
 */
export function fromFormValues(
  properties: Property[],
  values: Record<string, unknown>,
  options: { stored?: Record<string, unknown>; present: (name: string) => boolean },
): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const property of properties) {
    const value = values[property.name];
    const { field } = property;
    if (field.kind === 'object') {
      if (!property.required && !options.present(property.name)) continue;
      config[property.name] = fromFormValues(field.fields, (value ?? {}) as Record<string, unknown>, {
        stored: options.stored?.[property.name] as Record<string, unknown> | undefined,
        present: (inner) => options.present(`${property.name}.${inner}`),
      });
    } else if (field.kind === 'map') {
      const rows = (value ?? []) as Record<string, unknown>[];
      config[property.name] = Object.fromEntries(
        rows.map(({ [mapKey]: key, ...entry }) => [
          String(key),
          field.value.kind === 'object' ? fromFormValues(field.value.fields, entry, { present: () => true }) : entry.value,
        ]),
      );
    } else if (field.kind === 'strings' || field.kind === 'choices') {
      // An emptied list is a choice too (no attachment types), unless the list must have items.
      if (Array.isArray(value) && (value.length || options.stored?.[property.name] !== undefined)) config[property.name] = value;
    } else if (!isBlank(value)) {
      config[property.name] = typeof value === 'string' && field.kind === 'string' ? value.trim() : value;
    } else if (property.nullable && !isBlank(options.stored?.[property.name])) {
      config[property.name] = null;
    }
  }
  return config;
}

/** The optional sections that hold a stored value, switched on when the form opens. */
export function presentSections(properties: Property[], stored: Record<string, unknown> | undefined, prefix = ''): Record<string, boolean> {
  const present: Record<string, boolean> = {};
  for (const property of properties) {
    if (property.field.kind !== 'object') continue;
    const value = stored?.[property.name] as Record<string, unknown> | undefined;
    if (!property.required) present[`${prefix}${property.name}`] = value !== undefined && value !== null;
    Object.assign(present, presentSections(property.field.fields, value, `${prefix}${property.name}.`));
  }
  return present;
}

/** `invalid api channel config: secret: too short; callbackUrl: expected …` → field errors by path. */
export function fieldErrors(message: string): { path: string[]; message: string }[] {
  const details = message.replace(/^invalid [^:]*config:\s*/, '');
  if (details === message) return [];
  return details
    .split('; ')
    .map((part) => /^([\w.]+): (.+)$/.exec(part))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ path: match[1]!.split('.'), message: match[2]! }));
}
