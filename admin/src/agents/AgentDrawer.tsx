import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Form, InputNumber, Select, Space } from 'antd';
import { useTranslation } from 'react-i18next';
import { put } from '../api/client';
import { channelTypes, useChannelTypeLabel } from '../shared/channel-types';
import { FormDrawer } from '../shared/FormDrawer';
import { useTeamOptions } from '../teams/queries';
import './messages';
import { agentKeys, type AgentProfile, type AgentProfileInput } from './queries';

interface ProfileForm {
  skills: string[];
  languages: string[];
  teamIds: string[];
  capacity: number;
  channelLimits: { type: string; limit: number }[];
}

/** Whose profile the drawer edits: an existing one, or a user who has none yet. */
export type ProfileTarget = { userId: string; name: string; profile?: AgentProfile };

const languageOptions = ['zh', 'en'];

/** Edits one agent's routing profile; PUT /agents/:id creates it when the user has none. */
export function AgentDrawer({ target, onClose }: { target?: ProfileTarget; onClose: () => void }) {
  const { t } = useTranslation('agents');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const channelTypeLabel = useChannelTypeLabel();
  const teams = useTeamOptions();
  const [form] = Form.useForm<ProfileForm>();
  const profile = target?.profile;

  const save = useMutation({
    mutationFn: (values: ProfileForm) => {
      const input: AgentProfileInput = {
        skills: values.skills,
        languages: values.languages,
        teamIds: values.teamIds,
        capacity: values.capacity,
        channelCapacity: Object.fromEntries(values.channelLimits.map(({ type, limit }) => [type, limit])),
      };
      return put<AgentProfile>(`/agents/${target!.userId}`, input);
    },
    onSuccess: () => {
      void message.success(t('saved'));
      void queryClient.invalidateQueries({ queryKey: agentKeys.all });
      onClose();
    },
    onError: (error) => void message.error(error.message),
  });

  const initialValues: ProfileForm = {
    skills: profile?.skills ?? [],
    languages: profile?.languages ?? ['zh'],
    teamIds: profile?.teamIds ?? [],
    capacity: profile?.capacity ?? 5,
    channelLimits: Object.entries(profile?.channelCapacity ?? {}).map(([type, limit]) => ({ type, limit })),
  };

  return (
    <FormDrawer
      open={!!target}
      onClose={onClose}
      title={profile ? t('editTitle', { name: target?.name }) : t('newTitle')}
      width={520}
      saving={save.isPending}
      onSave={() => form.submit()}
    >
      {target && (
        <Form form={form} layout="vertical" initialValues={initialValues} onFinish={(values) => save.mutate(values)}>
          {!profile && <Form.Item label={t('user')}>{target.name}</Form.Item>}
          <Form.Item name="skills" label={t('skills')} extra={t('skillsHint')}>
            <Select mode="tags" tokenSeparators={[',', '，']} open={false} suffixIcon={null} />
          </Form.Item>
          <Form.Item name="languages" label={t('languages')} extra={t('languagesHint')}>
            <Select mode="tags" tokenSeparators={[',', '，']} options={languageOptions.map((code) => ({ value: code, label: `${t(`languageNames.${code}`)} (${code})` }))} />
          </Form.Item>
          <Form.Item name="teamIds" label={t('teams')}>
            <Select mode="multiple" loading={teams.loading} options={teams.options} optionFilterProp="label" />
          </Form.Item>
          <Form.Item name="capacity" label={t('capacity')} extra={t('capacityHint')} rules={[{ required: true }]}>
            <InputNumber min={0} max={100} precision={0} />
          </Form.Item>
          <Form.Item label={t('channelCapacity')} extra={t('channelCapacityHint')}>
            <Form.List name="channelLimits">
              {(fields, { add, remove }) => (
                <>
                  {fields.map((field, index) => (
                    <Space key={field.key} align="baseline" wrap>
                      <Form.Item name={[field.name, 'type']} label={t('channelType')} rules={[{ required: true }]}>
                        <Select style={{ width: 160 }} options={channelTypes.map((type) => ({ value: type, label: channelTypeLabel(type) }))} />
                      </Form.Item>
                      <Form.Item name={[field.name, 'limit']} label={t('limit')} rules={[{ required: true }]}>
                        <InputNumber min={0} max={100} precision={0} />
                      </Form.Item>
                      <Button type="text" icon={<MinusCircleOutlined />} aria-label={`${t('removeLimit')} ${index + 1}`} onClick={() => remove(field.name)} />
                    </Space>
                  ))}
                  <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ limit: 2 })}>
                    {t('addLimit')}
                  </Button>
                </>
              )}
            </Form.List>
          </Form.Item>
        </Form>
      )}
    </FormDrawer>
  );
}
