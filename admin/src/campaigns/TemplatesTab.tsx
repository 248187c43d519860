import { PlusOutlined } from '@ant-design/icons';
import { App, Alert, Button, Card, Form, Input, Select, Space, Table, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ChannelBadge, channelTypes } from '../shared/channel-types';
import { FormDrawer } from '../shared/FormDrawer';
import { useAudiencePreview, useSaveTemplate, useTemplatePreview, useTemplates, type Template } from './queries';
import { useDebounced } from './useDebounced';

const variableExamples = '{{name}}  {{tier}}  {{card_last4}}  {{name|…}}';

export function TemplatesTab() {
  const { t } = useTranslation('campaigns');
  const templates = useTemplates();
  const [editing, setEditing] = useState<Template | 'new' | undefined>();
  return (
    <>
      <Space style={{ marginBottom: 16 }}>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
          {t('newTemplate')}
        </Button>
      </Space>
      <Table<Template>
        rowKey="id"
        loading={templates.isLoading}
        dataSource={templates.data}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        columns={[
          { title: t('name'), dataIndex: 'name' },
          { title: t('channelType'), dataIndex: 'channelType', render: (type: string) => <ChannelBadge type={type} /> },
          { title: t('body'), dataIndex: 'body', ellipsis: true },
          {
            title: '',
            key: 'edit',
            width: 100,
            render: (_, template) => (
              <Button size="small" onClick={() => setEditing(template)}>
                {t('actions.edit', { ns: 'common' })}
              </Button>
            ),
          },
        ]}
      />
      {editing && <TemplateDrawer template={editing === 'new' ? undefined : editing} onClose={() => setEditing(undefined)} />}
    </>
  );
}

function TemplateDrawer({ template, onClose }: { template: Template | undefined; onClose: () => void }) {
  const { t } = useTranslation('campaigns');
  const { message } = App.useApp();
  const [form] = Form.useForm<Template & { contactId?: string }>();
  const values = Form.useWatch([], form);
  // Sample contacts to preview with: the newest few, from an audience of everyone.
  const contacts = useAudiencePreview({ and: [] });
  const draft = useDebounced(values ? { channelType: values.channelType, subject: values.subject || null, body: values.body, contactId: values.contactId } : undefined);
  const preview = useTemplatePreview(draft);
  const save = useSaveTemplate();
  const withSubject = values?.channelType === 'email' || values?.channelType === 'app';
  const submit = async () => {
    const { contactId: _, ...value } = await form.validateFields();
    try {
      await save.mutateAsync({ ...value, id: template?.id, subject: withSubject ? value.subject || null : null });
      message.success(t('saved'));
      onClose();
    } catch (error) {
      message.error((error as Error).message);
    }
  };
  return (
    <FormDrawer open title={template?.name ?? t('newTemplate')} width={640} saving={save.isPending} onSave={() => void submit()} onClose={onClose}>
      <Form form={form} layout="vertical" initialValues={template ?? { channelType: 'sms_twilio' }}>
        <Form.Item name="name" label={t('name')} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="channelType" label={t('channelType')} rules={[{ required: true }]}>
          <Select options={channelTypes.map((type) => ({ value: type, label: <ChannelBadge type={type} /> }))} />
        </Form.Item>
        {withSubject && (
          <Form.Item name="subject" label={t('subject')}>
            <Input />
          </Form.Item>
        )}
        <Form.Item
          name="body"
          label={t('body')}
          rules={[{ required: true }]}
          extra={
            <>
              {t('bodyHint')} <Typography.Text code>{variableExamples}</Typography.Text>
            </>
          }
        >
          <Input.TextArea rows={5} />
        </Form.Item>
        <Form.Item name="contactId" label={t('previewFor')}>
          <Select allowClear options={(contacts.data?.sample ?? []).map((c) => ({ value: c.id, label: c.name ?? c.id }))} />
        </Form.Item>
      </Form>
      <Card size="small" title={t('preview')} aria-live="polite">
        {preview.data?.subject && <Typography.Paragraph strong>{preview.data.subject}</Typography.Paragraph>}
        <Typography.Paragraph style={{ whiteSpace: 'pre-wrap' }}>{preview.data?.body ?? ''}</Typography.Paragraph>
        {!!preview.data?.missing.length && <Alert type="warning" showIcon title={t('missing', { names: preview.data.missing.join(', ') })} />}
        {preview.data?.sms && <Typography.Text type="secondary">{t('smsSegments', preview.data.sms)}</Typography.Text>}
      </Card>
    </FormDrawer>
  );
}
