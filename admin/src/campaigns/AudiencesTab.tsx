import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { App, Button, Form, Input, InputNumber, Select, Space, Table, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { FormDrawer } from '../shared/FormDrawer';
import { useAudiencePreview, useAudiences, useCampaignChannels, useSaveAudience, type Audience, type Condition, type Filter } from './queries';
import { useDebounced } from './useDebounced';

/** The operators each field takes and what kind of value they need (as core/campaigns/audience-filter.ts allows). */
const fieldOps: Record<string, Array<{ op: string; value: 'text' | 'days' | 'date' | 'number' | 'identity' | 'channel' | 'none' }>> = {
  tier: [{ op: 'eq', value: 'text' }, { op: 'neq', value: 'text' }],
  tags: [{ op: 'has', value: 'text' }, { op: 'lacks', value: 'text' }],
  language: [{ op: 'prefix', value: 'text' }, { op: 'eq', value: 'text' }],
  timezone: [{ op: 'eq', value: 'text' }],
  identity: [{ op: 'has', value: 'identity' }, { op: 'lacks', value: 'identity' }],
  last_contact: [{ op: 'within_days', value: 'days' }, { op: 'older_than_days', value: 'days' }, { op: 'never', value: 'none' }],
  consent: [{ op: 'opted_in', value: 'channel' }, { op: 'opted_out', value: 'channel' }],
  attribute: [
    { op: 'eq', value: 'text' },
    { op: 'neq', value: 'text' },
    { op: 'gt', value: 'number' },
    { op: 'lt', value: 'number' },
    { op: 'exists', value: 'none' },
    { op: 'missing', value: 'none' },
  ],
};
const identityKinds = ['phone', 'email', 'wechat_openid', 'wechat_unionid', 'app_user', 'web_visitor', 'external_id'];

interface BuilderValues {
  name: string;
  combinator: 'and' | 'or';
  conditions: Array<Partial<Condition>>;
}

/** The form's rows as a filter; rows not yet complete are left out so the count follows the typing. */
function toFilter(values: Partial<BuilderValues> | undefined): Filter {
  const conditions = (values?.conditions ?? []).filter((c): c is Condition => {
    const kind = fieldOps[c?.field ?? '']?.find((o) => o.op === c?.op)?.value;
    if (!kind) return false;
    if (c.field === 'attribute' && !c.key) return false;
    return kind === 'none' || (c.value !== undefined && c.value !== null && c.value !== '');
  });
  return values?.combinator === 'or' && conditions.length ? { or: conditions } : { and: conditions };
}

function fromFilter(filter: Filter): Pick<BuilderValues, 'combinator' | 'conditions'> {
  if ('or' in filter) return { combinator: 'or', conditions: filter.or as Condition[] };
  if ('and' in filter) return { combinator: 'and', conditions: filter.and as Condition[] };
  return { combinator: 'and', conditions: [filter as Condition] };
}

export function AudiencesTab() {
  const { t } = useTranslation('campaigns');
  const audiences = useAudiences();
  const [editing, setEditing] = useState<Audience | 'new' | undefined>();
  return (
    <>
      <Space style={{ marginBottom: 16 }}>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
          {t('newAudience')}
        </Button>
      </Space>
      <Table<Audience>
        rowKey="id"
        loading={audiences.isLoading}
        dataSource={audiences.data}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        columns={[
          { title: t('name'), dataIndex: 'name' },
          {
            title: '',
            key: 'edit',
            width: 100,
            render: (_, audience) => (
              <Button size="small" onClick={() => setEditing(audience)}>
                {t('actions.edit', { ns: 'common' })}
              </Button>
            ),
          },
        ]}
      />
      {editing && <AudienceDrawer audience={editing === 'new' ? undefined : editing} onClose={() => setEditing(undefined)} />}
    </>
  );
}

function AudienceDrawer({ audience, onClose }: { audience: Audience | undefined; onClose: () => void }) {
  const { t } = useTranslation('campaigns');
  const { message } = App.useApp();
  const [form] = Form.useForm<BuilderValues>();
  const values = Form.useWatch([], form);
  const filter = useDebounced(toFilter(values));
  const preview = useAudiencePreview(filter);
  const channels = useCampaignChannels();
  const save = useSaveAudience();
  const submit = async () => {
    const value = await form.validateFields();
    try {
      await save.mutateAsync({ id: audience?.id, name: value.name, filter: toFilter(value) });
      message.success(t('saved'));
      onClose();
    } catch (error) {
      message.error((error as Error).message);
    }
  };
  return (
    <FormDrawer open title={audience?.name ?? t('newAudience')} width={720} saving={save.isPending} onSave={() => void submit()} onClose={onClose}>
      <Form
        form={form}
        layout="vertical"
        initialValues={audience ? { name: audience.name, ...fromFilter(audience.filter) } : { combinator: 'and', conditions: [{ field: 'tier', op: 'eq' }] }}
      >
        <Form.Item name="name" label={t('name')} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="combinator" label={t('match')}>
          <Select options={[{ value: 'and', label: t('matchAll') }, { value: 'or', label: t('matchAny') }]} />
        </Form.Item>
        <Form.List name="conditions">
          {(rows, { add, remove }) => (
            <>
              {rows.map((row, index) => (
                <ConditionRow key={row.key} name={row.name} index={index} onRemove={() => remove(row.name)} channels={channels.data ?? []} />
              ))}
              <Button icon={<PlusOutlined />} onClick={() => add({ field: 'tags', op: 'has' })} style={{ marginBottom: 16 }}>
                {t('addCondition')}
              </Button>
            </>
          )}
        </Form.List>
      </Form>
      <div role="status" aria-live="polite">
        <Typography.Title level={5}>{preview.isError ? (preview.error as Error).message : t('liveCount', { count: preview.data?.count ?? 0 })}</Typography.Title>
      </div>
      <Table
        size="small"
        rowKey="id"
        title={() => t('sample')}
        pagination={false}
        dataSource={preview.data?.sample ?? []}
        columns={[
          { title: t('name'), dataIndex: 'name' },
          { title: t('tier'), dataIndex: 'tier' },
          { title: t('language'), dataIndex: 'language' },
        ]}
      />
    </FormDrawer>
  );
}

function ConditionRow({ name, index, onRemove, channels }: { name: number; index: number; onRemove: () => void; channels: Array<{ id: string; name: string }> }) {
  const { t } = useTranslation('campaigns');
  const form = Form.useFormInstance();
  const field = Form.useWatch(['conditions', name, 'field'], form) as string | undefined;
  const op = Form.useWatch(['conditions', name, 'op'], form) as string | undefined;
  const kind = fieldOps[field ?? '']?.find((o) => o.op === op)?.value ?? 'text';
  const label = (what: string) => `${t(what)} ${index + 1}`;
  return (
    <Space align="start" wrap style={{ display: 'flex' }}>
      <Form.Item name={[name, 'field']} label={label('field')}>
        <Select
          style={{ width: 150 }}
          options={Object.keys(fieldOps).map((f) => ({ value: f, label: t(`fields.${f}`) }))}
          onChange={(next: string) => form.setFieldValue(['conditions', name], { field: next, op: fieldOps[next]![0]!.op })}
        />
      </Form.Item>
      {field === 'attribute' && (
        <Form.Item name={[name, 'key']} label={label('key')}>
          <Input style={{ width: 130 }} />
        </Form.Item>
      )}
      <Form.Item name={[name, 'op']} label={label('op')}>
        <Select style={{ width: 150 }} options={(fieldOps[field ?? ''] ?? []).map((o) => ({ value: o.op, label: t(`ops.${o.op}`) }))} />
      </Form.Item>
      {kind !== 'none' && (
        <Form.Item name={[name, 'value']} label={label('value')}>
          {kind === 'identity' ? (
            <Select style={{ width: 160 }} options={identityKinds.map((k) => ({ value: k, label: t(`identityKinds.${k}`) }))} />
          ) : kind === 'channel' ? (
            <Select style={{ width: 160 }} options={channels.map((c) => ({ value: c.id, label: c.name }))} />
          ) : kind === 'days' || kind === 'number' ? (
            <InputNumber style={{ width: 130 }} min={kind === 'days' ? 0 : undefined} />
          ) : (
            <Input style={{ width: 160 }} />
          )}
        </Form.Item>
      )}
      <Form.Item label=" ">
        <Button aria-label={label('removeCondition')} icon={<DeleteOutlined />} onClick={onRemove} />
      </Form.Item>
    </Space>
  );
}
