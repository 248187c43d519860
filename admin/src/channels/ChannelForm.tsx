import { App, Button, Collapse, Form, Input, Typography } from 'antd';
import { useMemo, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import type { Channel, ChannelTypeInfo } from './api';
import { describeProperties, fieldErrors, fromFormValues, presentSections, toFormValues } from './schema';
import { presentKey, SchemaFields } from './SchemaFields';

const configPath = 'config';

export interface ChannelFormValues {
  name: string;
  config: Record<string, unknown>;
}

interface Props {
  typeInfo: ChannelTypeInfo;
  /** The channel being edited; absent when creating one. */
  channel?: Channel;
  readOnly: boolean;
  submitting: boolean;
  submitText: string;
  onSubmit(values: ChannelFormValues): Promise<unknown>;
  /** Fields above the name (the type picker when creating). */
  before?: ReactNode;
}

/**
 * A channel's name and config, built from its type's JSON schema. Secrets are write-only: left
 * empty they are not sent, so the stored value stays.
 */
export function ChannelForm({ typeInfo, channel, readOnly, submitting, submitText, onSubmit, before }: Props) {
  const { t } = useTranslation('channels');
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const properties = useMemo(() => describeProperties(typeInfo.schema), [typeInfo]);
  const initialValues = useMemo(
    () => ({
      name: channel?.name,
      [configPath]: toFormValues(properties, channel?.config),
      [presentKey]: presentSections(properties, channel?.config, `${configPath}.`),
    }),
    [properties, channel],
  );
  const watched = Form.useWatch(configPath, form) as Record<string, unknown> | undefined;
  const present = Form.useWatch(presentKey, form) as Record<string, boolean> | undefined;
  const toConfig = (values: Record<string, unknown> | undefined, sections: Record<string, boolean> | undefined) =>
    fromFormValues(properties, values ?? {}, { stored: channel?.config, present: (name) => sections?.[`${configPath}.${name}`] ?? false });
  const secretFields = typeInfo.secretFields;
  const preview = JSON.stringify(
    Object.fromEntries(Object.entries(toConfig(watched, present)).filter(([key]) => !secretFields.includes(key))),
    null,
    2,
  );

  const submit = async (values: { name: string; config?: Record<string, unknown>; [presentKey]?: Record<string, boolean> }) => {
    try {
      await onSubmit({ name: values.name, config: toConfig(values.config, values[presentKey]) });
    } catch (error) {
      const problems = error instanceof ApiError ? fieldErrors(error.message) : [];
      form.setFields(problems.map((problem) => ({ name: [configPath, ...problem.path], errors: [problem.message] })));
      void message.error((error as Error).message);
    }
  };

  return (
    <Form
      form={form}
      layout="vertical"
      initialValues={initialValues}
      onFinish={(values) => void submit(values)}
      disabled={readOnly || submitting}
      scrollToFirstError
      style={{ maxWidth: 760 }}
    >
      {before}
      <Form.Item name="name" label={t('name')} extra={t('nameHelp')} rules={[{ required: true, whitespace: true }, { max: 200 }]}>
        <Input />
      </Form.Item>
      <SchemaFields properties={properties} path={[configPath]} secrets={{ fields: secretFields, set: channel?.secretsSet }} readOnly={readOnly} />
      <Collapse
        size="small"
        style={{ marginBottom: 24 }}
        items={[
          {
            key: 'preview',
            label: t('form.preview'),
            children: (
              <Typography.Paragraph style={{ margin: 0 }}>
                <pre style={{ margin: 0, maxHeight: 320, overflow: 'auto' }}>{preview}</pre>
              </Typography.Paragraph>
            ),
          },
        ]}
      />
      {!readOnly && (
        <Button type="primary" htmlType="submit" loading={submitting}>
          {submitText}
        </Button>
      )}
    </Form>
  );
}
