import { PlusOutlined } from '@ant-design/icons';
import { App as AntApp, Button, Card, Checkbox, Form, Input, InputNumber, Select, Space, Table, Tabs, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth/AuthProvider';
import { FormDrawer } from '../shared/FormDrawer';
import './messages';
import { useCalendars, usePolicies, useSaveCalendar, useSavePolicy, type SlaCalendar, type SlaPolicy } from './queries';

const weekdays = ['1', '2', '3', '4', '5', '6', '7'] as const;

/** `09:00-12:00, 13:00-18:00` ⇄ periods. */
const periodsToText = (periods: Array<{ from: string; to: string }> | undefined) => (periods ?? []).map((p) => `${p.from}-${p.to}`).join(', ');
const textToPeriods = (text: string | undefined) =>
  (text ?? '')
    .split(/[,，;\s]+/)
    .filter(Boolean)
    .map((part) => {
      const [from = '', to = ''] = part.split('-');
      return { from: from.trim(), to: to.trim() };
    });
const lines = (text: string | undefined) => (text ?? '').split(/[\s,]+/).filter(Boolean);

function PolicyDrawer({ policy, calendars, onClose }: { policy: Partial<SlaPolicy>; calendars: SlaCalendar[]; onClose: () => void }) {
  const { t } = useTranslation('sla');
  const { message } = AntApp.useApp();
  const [form] = Form.useForm();
  const save = useSavePolicy();
  const submit = async () => {
    const values = await form.validateFields();
    await save.mutateAsync({
      id: policy.id,
      name: values.name,
      calendarId: values.calendarId ?? null,
      firstResponseSeconds: values.firstResponseSeconds ?? null,
      nextResponseSeconds: values.nextResponseSeconds ?? null,
      resolutionSeconds: values.resolutionSeconds ?? null,
      warnPercent: values.warnPercent ?? null,
      isDefault: Boolean(values.isDefault),
      escalation: values.raisePriority === undefined || values.raisePriority === null ? {} : { raisePriority: values.raisePriority },
    });
    message.success(t('saved'));
    onClose();
  };
  return (
    <FormDrawer open title={policy.id ? `${t('edit')} ${policy.name}` : t('newPolicy')} saving={save.isPending} onSave={() => void submit().catch(() => undefined)} onClose={onClose}>
      <Form
        form={form}
        layout="vertical"
        initialValues={{ warnPercent: 80, ...policy, raisePriority: policy.escalation?.raisePriority }}
      >
        <Form.Item name="name" label={t('name')} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="calendarId" label={t('calendar')}>
          <Select allowClear placeholder={t('allDay')} options={calendars.map((c) => ({ value: c.id, label: `${c.name} (${c.timeZone})` }))} />
        </Form.Item>
        <Space wrap>
          <Form.Item name="firstResponseSeconds" label={t('firstResponse')}>
            <InputNumber min={1} />
          </Form.Item>
          <Form.Item name="nextResponseSeconds" label={t('nextResponse')}>
            <InputNumber min={1} />
          </Form.Item>
          <Form.Item name="resolutionSeconds" label={t('resolution')}>
            <InputNumber min={1} />
          </Form.Item>
          <Form.Item name="warnPercent" label={t('warnPercent')}>
            <InputNumber min={1} max={99} />
          </Form.Item>
        </Space>
        <Form.Item name="raisePriority" label={t('raisePriority')}>
          <Select allowClear placeholder={t('none')} options={[0, 1, 2, 3].map((p) => ({ value: p, label: String(p) }))} />
        </Form.Item>
        <Form.Item name="isDefault" valuePropName="checked">
          <Checkbox>{t('isDefault')}</Checkbox>
        </Form.Item>
      </Form>
    </FormDrawer>
  );
}

function CalendarDrawer({ calendar, onClose }: { calendar: Partial<SlaCalendar>; onClose: () => void }) {
  const { t } = useTranslation('sla');
  const { message } = AntApp.useApp();
  const [form] = Form.useForm();
  const save = useSaveCalendar();
  const initial = {
    name: calendar.name,
    timeZone: calendar.timeZone ?? 'Asia/Shanghai',
    ...Object.fromEntries(weekdays.map((d) => [`day${d}`, calendar.id ? periodsToText(calendar.hours?.[d]) : Number(d) <= 5 ? '09:00-18:00' : ''])),
    holidays: (calendar.holidays ?? []).join('\n'),
    workdays: (calendar.workdays ?? []).join('\n'),
  };
  const submit = async () => {
    const values = await form.validateFields();
    const hours = Object.fromEntries(weekdays.map((d) => [d, textToPeriods(values[`day${d}`])]).filter(([, periods]) => (periods as unknown[]).length > 0));
    await save.mutateAsync({ id: calendar.id, name: values.name, timeZone: values.timeZone, hours, holidays: lines(values.holidays), workdays: lines(values.workdays) });
    message.success(t('saved'));
    onClose();
  };
  return (
    <FormDrawer open title={calendar.id ? `${t('edit')} ${calendar.name}` : t('newCalendar')} saving={save.isPending} onSave={() => void submit().catch(() => undefined)} onClose={onClose}>
      <Form form={form} layout="vertical" initialValues={initial}>
        <Form.Item name="name" label={t('name')} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="timeZone" label={t('timeZone')} rules={[{ required: true }]}>
          <Input placeholder="Asia/Shanghai" />
        </Form.Item>
        <Typography.Text type="secondary">{t('periods')}</Typography.Text>
        {weekdays.map((d) => (
          <Form.Item key={d} name={`day${d}`} label={t(`weekday.${d}`)} style={{ marginBottom: 8 }}>
            <Input placeholder="09:00-12:00, 13:00-18:00" />
          </Form.Item>
        ))}
        <Form.Item name="holidays" label={t('holidays')}>
          <Input.TextArea rows={4} placeholder="2025-10-01" />
        </Form.Item>
        <Form.Item name="workdays" label={t('workdays')}>
          <Input.TextArea rows={2} placeholder="2025-10-11" />
        </Form.Item>
      </Form>
    </FormDrawer>
  );
}

export default function SlaPage() {
  const { t } = useTranslation('sla');
  const { can } = useAuth();
  const isAdmin = can('admin');
  const policies = usePolicies();
  const calendars = useCalendars();
  const [policy, setPolicy] = useState<Partial<SlaPolicy> | undefined>();
  const [calendar, setCalendar] = useState<Partial<SlaCalendar> | undefined>();
  const calendarName = (id: string | null) => (id ? (calendars.data?.find((c) => c.id === id)?.name ?? id) : t('allDay'));
  const seconds = (value: number | null) => (value === null ? '—' : value);

  return (
    <Card title={t('title')}>
      <Typography.Paragraph type="secondary">
        {t('intro')} {!isAdmin && t('adminOnly')}
      </Typography.Paragraph>
      <Tabs
        items={[
          {
            key: 'policies',
            label: t('policies'),
            children: (
              <>
                {isAdmin && (
                  <Button type="primary" icon={<PlusOutlined />} onClick={() => setPolicy({})} style={{ marginBottom: 12 }}>
                    {t('newPolicy')}
                  </Button>
                )}
                <Table<SlaPolicy>
                  rowKey="id"
                  size="middle"
                  loading={policies.isLoading}
                  dataSource={policies.data}
                  pagination={false}
                  scroll={{ x: 720 }}
                  columns={[
                    { title: t('name'), dataIndex: 'name' },
                    { title: t('calendar'), key: 'calendar', render: (_, p) => calendarName(p.calendarId) },
                    { title: t('firstResponse'), key: 'fr', render: (_, p) => seconds(p.firstResponseSeconds) },
                    { title: t('nextResponse'), key: 'nr', render: (_, p) => seconds(p.nextResponseSeconds) },
                    { title: t('resolution'), key: 'res', render: (_, p) => seconds(p.resolutionSeconds) },
                    { title: t('isDefault'), key: 'default', render: (_, p) => (p.isDefault ? t('yes') : t('no')) },
                    ...(isAdmin ? [{ title: '', key: 'edit', render: (_: unknown, p: SlaPolicy) => <Button size="small" onClick={() => setPolicy(p)}>{t('edit')}</Button> }] : []),
                  ]}
                />
              </>
            ),
          },
          {
            key: 'calendars',
            label: t('calendars'),
            children: (
              <>
                {isAdmin && (
                  <Button type="primary" icon={<PlusOutlined />} onClick={() => setCalendar({})} style={{ marginBottom: 12 }}>
                    {t('newCalendar')}
                  </Button>
                )}
                <Table<SlaCalendar>
                  rowKey="id"
                  size="middle"
                  loading={calendars.isLoading}
                  dataSource={calendars.data}
                  pagination={false}
                  scroll={{ x: 720 }}
                  columns={[
                    { title: t('name'), dataIndex: 'name' },
                    { title: t('timeZone'), dataIndex: 'timeZone' },
                    { title: t('weekday.1'), key: 'mon', render: (_, c) => periodsToText(c.hours['1']) },
                    { title: t('holidays'), key: 'holidays', render: (_, c) => c.holidays.length },
                    ...(isAdmin ? [{ title: '', key: 'edit', render: (_: unknown, c: SlaCalendar) => <Button size="small" onClick={() => setCalendar(c)}>{t('edit')}</Button> }] : []),
                  ]}
                />
              </>
            ),
          },
        ]}
      />
      {policy && <PolicyDrawer policy={policy} calendars={calendars.data ?? []} onClose={() => setPolicy(undefined)} />}
      {calendar && <CalendarDrawer calendar={calendar} onClose={() => setCalendar(undefined)} />}
    </Card>
  );
}
