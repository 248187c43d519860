import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Checkbox, Divider, Form, Input, Select, Space, Switch, TimePicker } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { patch, post } from '../api/client';
import { channelTypes, useChannelTypeLabel } from '../shared/channel-types';
import { FormDrawer } from '../shared/FormDrawer';
import { useTeamOptions } from '../teams/queries';
import './messages';
import { priorities, routingKeys, type RoutingRule, type RuleInput } from './queries';

interface RuleForm {
  name: string;
  enabled: boolean;
  channelTypes: string[];
  languages: string[];
  tiers: string[];
  keywords: string[];
  attributes: { key: string; value: string }[];
  useTime: boolean;
  from?: Dayjs;
  to?: Dayjs;
  timezone: string;
  days: number[];
  teamId?: string;
  requiredSkills: string[];
  priority?: number;
  slaPolicy?: string;
}

const clock = 'HH:mm';
const weekdays = [1, 2, 3, 4, 5, 6, 7];
const timeZones = Intl.supportedValuesOf('timeZone');

function toForm(rule?: RoutingRule): RuleForm {
  const c = rule?.conditions ?? {};
  const a = rule?.actions ?? {};
  return {
    name: rule?.name ?? '',
    enabled: rule?.enabled ?? true,
    channelTypes: c.channelTypes ?? [],
    languages: c.languages ?? [],
    tiers: c.tiers ?? [],
    keywords: c.keywords ?? [],
    attributes: Object.entries(c.attributes ?? {}).map(([key, value]) => ({ key, value: String(value) })),
    useTime: !!c.timeOfDay,
    from: c.timeOfDay ? dayjs(c.timeOfDay.from, clock) : undefined,
    to: c.timeOfDay ? dayjs(c.timeOfDay.to, clock) : undefined,
    timezone: c.timeOfDay?.timezone ?? 'Asia/Shanghai',
    days: c.timeOfDay?.days ?? [],
    teamId: a.teamId,
    requiredSkills: a.requiredSkills ?? [],
    priority: a.priority,
    slaPolicy: a.slaPolicy,
  };
}

/** The API refuses empty lists as conditions (an absent condition is the way to say "any"). */
const list = (values: string[]) => (values.length ? values : undefined);

/**
 * Attribute values are typed as text; an existing value that was a number or boolean keeps its
 * type while its text is unchanged, since the rule compares attributes strictly.
 */
function attributeValue(text: string, previous: unknown) {
  return previous !== undefined && String(previous) === text ? (previous as string | number | boolean) : text;
}

function toInput(values: RuleForm, rule?: RoutingRule): RuleInput {
  const previous = rule?.conditions.attributes ?? {};
  return {
    name: values.name,
    enabled: values.enabled,
    conditions: {
      channelTypes: list(values.channelTypes),
      languages: list(values.languages),
      tiers: list(values.tiers),
      keywords: list(values.keywords),
      attributes: values.attributes.length ? Object.fromEntries(values.attributes.map(({ key, value }) => [key.trim(), attributeValue(value, previous[key.trim()])])) : undefined,
      timeOfDay:
        values.useTime && values.from && values.to
          ? { from: values.from.format(clock), to: values.to.format(clock), timezone: values.timezone, days: values.days.length ? values.days : undefined }
          : undefined,
    },
    actions: {
      teamId: values.teamId || undefined,
      requiredSkills: list(values.requiredSkills),
      priority: values.priority ?? undefined,
      slaPolicy: values.slaPolicy?.trim() || undefined,
    },
  };
}

/** Creates a rule (`rule` undefined) or edits one; the form follows the rule schema's fields. */
export function RuleDrawer({ open, rule, onClose }: { open: boolean; rule?: RoutingRule; onClose: () => void }) {
  const { t } = useTranslation('routing');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const channelTypeLabel = useChannelTypeLabel();
  const teams = useTeamOptions();
  const [form] = Form.useForm<RuleForm>();
  const useTime = Form.useWatch('useTime', form);

  const save = useMutation({
    mutationFn: (values: RuleForm) => (rule ? patch<RoutingRule>(`/routing/rules/${rule.id}`, toInput(values, rule)) : post<RoutingRule>('/routing/rules', toInput(values))),
    onSuccess: () => {
      void message.success(t('saved'));
      void queryClient.invalidateQueries({ queryKey: routingKeys.rules });
      onClose();
    },
    onError: (error) => void message.error(error.message),
  });

  const hasAction = (values: RuleForm) => !!(values.teamId || values.requiredSkills?.length || values.priority !== undefined || values.slaPolicy?.trim());
  const actionRule = () => ({
    validator: () => (hasAction(form.getFieldsValue(true) as RuleForm) ? Promise.resolve() : Promise.reject(new Error(t('actionRequired')))),
  });
  const actionFields = ['teamId', 'requiredSkills', 'priority', 'slaPolicy'];
  const tags = <Select mode="tags" tokenSeparators={[',', '，']} open={false} suffixIcon={null} />;

  return (
    <FormDrawer
      open={open}
      onClose={onClose}
      title={rule ? t('editTitle', { name: rule.name }) : t('newTitle')}
      width={600}
      saving={save.isPending}
      onSave={() => form.submit()}
    >
      <Form form={form} layout="vertical" initialValues={toForm(rule)} onFinish={(values) => save.mutate(values)}>
        <Form.Item name="name" label={t('name')} rules={[{ required: true, whitespace: true, message: t('nameRequired') }, { max: 200 }]}>
          <Input maxLength={200} />
        </Form.Item>
        <Form.Item name="enabled" label={t('enabled')} valuePropName="checked">
          <Switch />
        </Form.Item>

        <Divider titlePlacement="start">{t('whenTitle')}</Divider>
        <Form.Item name="channelTypes" label={t('channelTypes')}>
          <Select mode="multiple" options={channelTypes.map((type) => ({ value: type, label: channelTypeLabel(type) }))} />
        </Form.Item>
        <Form.Item name="keywords" label={t('keywords')} extra={t('keywordsHint')}>
          {tags}
        </Form.Item>
        <Form.Item name="languages" label={t('languages')} extra={t('languagesHint')}>
          {tags}
        </Form.Item>
        <Form.Item name="tiers" label={t('tiers')} extra={t('tiersHint')}>
          {tags}
        </Form.Item>
        <Form.Item label={t('attributes')} extra={t('attributesHint')}>
          <Form.List name="attributes">
            {(fields, { add, remove }) => (
              <>
                {fields.map((field, index) => (
                  <Space key={field.key} align="baseline" wrap>
                    <Form.Item name={[field.name, 'key']} label={t('attributeKey')} rules={[{ required: true, whitespace: true }]}>
                      <Input style={{ width: 180 }} />
                    </Form.Item>
                    <Form.Item name={[field.name, 'value']} label={t('attributeValue')} rules={[{ required: true }]}>
                      <Input style={{ width: 180 }} />
                    </Form.Item>
                    <Button type="text" icon={<MinusCircleOutlined />} aria-label={t('removeAttribute', { index: index + 1 })} onClick={() => remove(field.name)} />
                  </Space>
                ))}
                <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ key: '', value: '' })}>
                  {t('addAttribute')}
                </Button>
              </>
            )}
          </Form.List>
        </Form.Item>
        <Form.Item name="useTime" valuePropName="checked" label={t('timeOfDay')}>
          <Checkbox>{t('useTime')}</Checkbox>
        </Form.Item>
        {useTime && (
          <>
            <Space wrap align="start">
              <Form.Item name="from" label={t('from')} rules={[{ required: true }]}>
                <TimePicker format={clock} minuteStep={5} needConfirm={false} />
              </Form.Item>
              <Form.Item name="to" label={t('to')} rules={[{ required: true }]}>
                <TimePicker format={clock} minuteStep={5} needConfirm={false} />
              </Form.Item>
              <Form.Item name="timezone" label={t('timezone')} rules={[{ required: true }]}>
                <Select showSearch style={{ width: 200 }} options={timeZones.map((zone) => ({ value: zone, label: zone }))} />
              </Form.Item>
            </Space>
            <Form.Item name="days" label={t('days')} extra={t('timeHint')}>
              <Checkbox.Group options={weekdays.map((day) => ({ value: day, label: t(`weekdays.${day}`) }))} />
            </Form.Item>
          </>
        )}

        <Divider titlePlacement="start">{t('thenTitle')}</Divider>
        <Form.Item name="teamId" label={t('team')} dependencies={actionFields} rules={[actionRule]}>
          <Select allowClear loading={teams.loading} options={teams.options} optionFilterProp="label" showSearch />
        </Form.Item>
        <Form.Item name="requiredSkills" label={t('requiredSkills')}>
          {tags}
        </Form.Item>
        <Form.Item name="priority" label={t('priority')}>
          <Select allowClear options={priorities.map((priority) => ({ value: priority, label: t(`priorities.${priority}`) }))} style={{ maxWidth: 200 }} />
        </Form.Item>
        <Form.Item name="slaPolicy" label={t('slaPolicy')} extra={t('slaPolicyHint')} rules={[{ max: 100 }]}>
          <Input maxLength={100} />
        </Form.Item>
      </Form>
    </FormDrawer>
  );
}
