import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Form, Input, InputNumber, Select, Space, Switch, Tag, type FormItemProps } from 'antd';
import type { Rule } from 'antd/es/form';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { mapKey, type Field, type Property } from './schema';

type NamePath = (string | number)[];

/** PEM blocks and long texts: a one-line input would hide most of what is pasted. */
const multiline = new Set(['tokenPublicKey', 'fcmPrivateKey', 'apnsKey', 'apnsCa', 'dkimPrivateKey', 'helpText', 'notificationBody']);

export interface SecretState {
  fields: string[];
  /** Secrets the channel already has (`secretsSet`); absent when creating. */
  set?: string[];
}

/** Optional sections (a nested object the admin may leave out) are switched on under this form key. */
export const presentKey = '__present';

function humanize(name: string) {
  return name.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}

export function useFieldText() {
  const { t } = useTranslation('channels');
  return {
    label: (name: string) => t(`fields.${name}`, { defaultValue: humanize(name) }),
    help: (property: Property) => t(`help.${property.name}`, { defaultValue: '' }) || property.description,
    option: (name: string, value: string | number) => t(`options.${name}.${value}`, { defaultValue: String(value) }),
  };
}

function isHttpUrl(value: string) {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

function useRules() {
  const { t } = useTranslation('channels');
  const text = (format: string | undefined, pattern: string | undefined) => (value: string) => {
    if (format === 'uri' && !isHttpUrl(value)) return t('form.badUrl');
    if (pattern && !new RegExp(pattern).test(value)) return t('form.badFormat');
    return undefined;
  };
  return (property: Property, required: boolean): Rule[] => {
    const { field } = property;
    const rules: Rule[] = required ? [{ required: true }] : [];
    if (field.kind === 'string') {
      const check = text(field.format, field.format === 'email' ? undefined : field.pattern);
      if (field.format === 'email') rules.push({ type: 'email' });
      if (field.minLength !== undefined) rules.push({ min: field.minLength });
      if (field.maxLength !== undefined) rules.push({ max: field.maxLength });
      rules.push({ validator: async (_, value: unknown) => {
        const problem = typeof value === 'string' && value ? check(value) : undefined;
        if (problem) throw new Error(problem);
      } });
    }
    if (field.kind === 'number') rules.push({ type: field.integer ? 'integer' : 'number', min: field.minimum, max: field.maximum });
    if (field.kind === 'strings' || field.kind === 'choices') {
      if (field.minItems) rules.push({ type: 'array', min: field.minItems });
      if (field.maxItems) rules.push({ type: 'array', max: field.maxItems });
    }
    if (field.kind === 'strings') {
      const check = text(field.format, field.pattern);
      rules.push({ validator: async (_, value: unknown) => {
        const problems = Array.isArray(value) ? value.filter((item: string) => !field.allowed?.includes(item) && check(item)) : [];
        if (problems.length) throw new Error(`${check(problems[0] as string)}: ${problems.join(', ')}`);
      } });
    }
    return rules;
  };
}

interface FieldsProps {
  properties: Property[];
  /** Where these fields sit in the form's values, e.g. ['config']. */
  path: NamePath;
  secrets?: SecretState;
  readOnly: boolean;
}

/** Antd form controls for each property of a channel type's JSON schema, nested objects and maps included. */
export function SchemaFields({ properties, path, secrets, readOnly }: FieldsProps) {
  return (
    <>
      {properties.map((property) => (
        <SchemaField key={property.name} property={property} path={path} secrets={secrets} readOnly={readOnly} />
      ))}
    </>
  );
}

function SchemaField({ property, path, secrets, readOnly }: { property: Property } & Omit<FieldsProps, 'properties'>) {
  const { t } = useTranslation('channels');
  const text = useFieldText();
  const rulesFor = useRules();
  const { name, field } = property;
  const label = text.label(name);
  const itemProps: FormItemProps = { name: [...path, name], label, extra: text.help(property) };

  if (secrets?.fields.includes(name)) return <SecretField property={property} path={path} set={secrets.set} readOnly={readOnly} />;

  switch (field.kind) {
    case 'object':
      return <ObjectField property={property} path={path} readOnly={readOnly} fields={field.fields} />;
    case 'map':
      return <MapField property={property} path={path} readOnly={readOnly} value={field.value} />;
    case 'boolean':
      return <Form.Item {...itemProps} valuePropName="checked"><Switch /></Form.Item>;
    case 'number':
      return (
        <Form.Item {...itemProps} rules={rulesFor(property, property.required)}>
          <InputNumber min={field.minimum} max={field.maximum} precision={field.integer ? 0 : undefined} style={{ width: 220 }} />
        </Form.Item>
      );
    case 'enum':
      return (
        <Form.Item {...itemProps} rules={rulesFor(property, property.required)}>
          <Select allowClear={!property.required} style={{ maxWidth: 320 }} options={field.options.map((value) => ({ value, label: text.option(name, value) }))} />
        </Form.Item>
      );
    case 'choices':
      return (
        <Form.Item {...itemProps} rules={rulesFor(property, property.required)}>
          <Select mode="multiple" options={field.options.map((value) => ({ value, label: text.option(name, value) }))} />
        </Form.Item>
      );
    case 'strings':
      return (
        <Form.Item {...itemProps} rules={rulesFor(property, property.required)}>
          <Select mode="tags" tokenSeparators={[',', ' ']} placeholder={t('form.tagsPlaceholder')} options={field.allowed?.map((value) => ({ value }))} />
        </Form.Item>
      );
    case 'string':
      return (
        <Form.Item {...itemProps} rules={rulesFor(property, property.required)}>
          {multiline.has(name) ? <Input.TextArea autoSize={{ minRows: 2, maxRows: 10 }} spellCheck={false} /> : <Input spellCheck={false} />}
        </Form.Item>
      );
    default:
      return (
        <Form.Item label={label}>
          <Alert type="info" showIcon title={t('form.unknown')} />
        </Form.Item>
      );
  }
}

/** A write-only field: "set" or "not set", and a new value only when the admin chooses to replace it. */
function SecretField({ property, path, set, readOnly }: { property: Property; path: NamePath; set?: string[]; readOnly: boolean }) {
  const { t } = useTranslation('channels');
  const text = useFieldText();
  const rulesFor = useRules();
  const isSet = set?.includes(property.name) ?? false;
  const [replacing, setReplacing] = useState(false);
  const label = text.label(property.name);
  const state = <Tag color={isSet ? 'green' : 'default'}>{isSet ? t('secret.set') : t('secret.notSet')}</Tag>;
  const editing = set !== undefined;
  // The label sits on the outer item, which has no name to derive the input's id from.
  const id = ['secret', ...path, property.name].join('_');
  const input = multiline.has(property.name) ? (
    <Input.TextArea id={id} autoSize={{ minRows: 2, maxRows: 10 }} spellCheck={false} autoComplete="off" />
  ) : (
    <Input.Password id={id} autoComplete="new-password" spellCheck={false} />
  );

  if (editing && isSet && !replacing) {
    return (
      <Form.Item label={label} extra={text.help(property)}>
        <Space>
          {state}
          {!readOnly && (
            <Button size="small" onClick={() => setReplacing(true)} aria-label={`${t('secret.replace')} ${label}`}>
              {t('secret.replace')}
            </Button>
          )}
        </Space>
      </Form.Item>
    );
  }
  return (
    <Form.Item label={label} htmlFor={id} required={property.required && !isSet} extra={editing ? t('secret.replaceHelp') : text.help(property)}>
      <Space.Compact block style={{ alignItems: 'flex-start' }}>
        <Form.Item noStyle name={[...path, property.name]} rules={rulesFor(property, property.required && !isSet)}>
          {input}
        </Form.Item>
        {replacing && <Button onClick={() => setReplacing(false)}>{t('secret.keep')}</Button>}
      </Space.Compact>
      {editing && !replacing && <div style={{ marginTop: 4 }}>{state}</div>}
    </Form.Item>
  );
}

function Section({ title, children, extra }: { title: ReactNode; children: ReactNode; extra?: ReactNode }) {
  return (
    <Card size="small" title={title} extra={extra} style={{ marginBottom: 24 }}>
      {children}
    </Card>
  );
}

function ObjectField({ property, path, readOnly, fields }: { property: Property; path: NamePath; readOnly: boolean; fields: Property[] }) {
  const { t } = useTranslation('channels');
  const text = useFieldText();
  const label = text.label(property.name);
  const inner = <SchemaFields properties={fields} path={[...path, property.name]} readOnly={readOnly} />;
  if (property.required) return <Section title={label}>{inner}</Section>;
  const switchName = [presentKey, [...path, property.name].join('.')];
  return (
    <Section
      title={label}
      extra={
        <Form.Item noStyle name={switchName} valuePropName="checked">
          <Switch aria-label={t('form.section', { name: label })} />
        </Form.Item>
      }
    >
      <Form.Item noStyle shouldUpdate>
        {({ getFieldValue }) =>
          getFieldValue(switchName) ? inner : <div style={{ color: 'rgba(0,0,0,0.55)' }}>{text.help(property) || t('form.sectionOff')}</div>
        }
      </Form.Item>
    </Section>
  );
}

function MapField({ property, path, readOnly, value }: { property: Property; path: NamePath; readOnly: boolean; value: Field }) {
  const { t } = useTranslation('channels');
  const text = useFieldText();
  const label = text.label(property.name);
  const entryFields: Property[] =
    value.kind === 'object' ? value.fields : [{ name: 'value', field: value, required: true, nullable: false }];
  return (
    <Section title={label}>
      {text.help(property) && <p style={{ marginTop: 0, color: 'rgba(0,0,0,0.55)' }}>{text.help(property)}</p>}
      <Form.List name={[...path, property.name]}>
        {(rows, { add, remove }) => (
          <>
            {rows.map((row, index) => (
              <Card
                key={row.key}
                size="small"
                type="inner"
                style={{ marginBottom: 12 }}
                title={`${label} ${index + 1}`}
                extra={
                  !readOnly && (
                    <Button type="text" danger icon={<DeleteOutlined />} aria-label={`${t('form.removeItem')} ${label} ${index + 1}`} onClick={() => remove(row.name)} />
                  )
                }
              >
                <Form.Item name={[row.name, mapKey]} label={t('form.mapKey')} rules={[{ required: true }]}>
                  <Input />
                </Form.Item>
                <SchemaFields properties={entryFields} path={[row.name]} readOnly={readOnly} />
              </Card>
            ))}
            {!readOnly && (
              <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({})} aria-label={`${t('form.addItem')}: ${label}`}>
                {t('form.addItem')}
              </Button>
            )}
          </>
        )}
      </Form.List>
    </Section>
  );
}
