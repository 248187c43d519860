import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Form, Input, Select, Space, Switch } from 'antd';
import { useTranslation } from 'react-i18next';
import { patch, post } from '../api/client';
import { channelTypes, useChannelTypeLabel } from '../shared/channel-types';
import { FormDrawer } from '../shared/FormDrawer';
import './messages';
import { kbKeys, type KbArticle, type KbArticleInput } from './queries';

interface ArticleForm extends Omit<KbArticleInput, 'channelAnswers'> {
  channelAnswers: { type: string; answer: string }[];
}

function toForm(article?: KbArticle): ArticleForm {
  return {
    title: article?.title ?? '',
    questions: article?.questions ?? [''],
    answer: article?.answer ?? '',
    channelAnswers: Object.entries(article?.channelAnswers ?? {}).map(([type, answer]) => ({ type, answer })),
    tags: article?.tags ?? [],
    enabled: article?.enabled ?? true,
  };
}

/** Creates an article (`article` undefined), edits one, or shows one read-only to agents. */
export function ArticleDrawer({ open, article, editable, onClose }: { open: boolean; article?: KbArticle; editable: boolean; onClose: () => void }) {
  const { t } = useTranslation('kb');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const channelTypeLabel = useChannelTypeLabel();
  const [form] = Form.useForm<ArticleForm>();

  const save = useMutation({
    mutationFn: (values: ArticleForm) => {
      const input: KbArticleInput = { ...values, channelAnswers: Object.fromEntries(values.channelAnswers.map(({ type, answer }) => [type, answer])) };
      return article ? patch<KbArticle>(`/kb/articles/${article.id}`, input) : post<KbArticle>('/kb/articles', input);
    },
    onSuccess: () => {
      void message.success(t('saved'));
      void queryClient.invalidateQueries({ queryKey: kbKeys.articles });
      onClose();
    },
    onError: (error) => void message.error(error.message),
  });

  const title = !article ? t('newTitle') : editable ? t('editTitle', { title: article.title }) : t('viewTitle', { title: article.title });
  return (
    <FormDrawer open={open} onClose={onClose} title={title} width={640} editable={editable} saving={save.isPending} onSave={() => form.submit()}>
      <Form form={form} layout="vertical" initialValues={toForm(article)} disabled={!editable} onFinish={(values) => save.mutate(values)}>
        <Form.Item name="title" label={t('articleTitle')} rules={[{ required: true, whitespace: true }, { max: 200 }]}>
          <Input maxLength={200} />
        </Form.Item>
        <Form.Item label={t('questions')} extra={t('questionsHint')} required>
          <Form.List
            name="questions"
            rules={[{ validator: (_, questions?: string[]) => (questions?.length ? Promise.resolve() : Promise.reject(new Error(t('questionsRequired')))) }]}
          >
            {(fields, { add, remove }, { errors }) => (
              <>
                {fields.map((field, index) => (
                  <Space key={field.key} align="baseline" style={{ display: 'flex' }}>
                    <Form.Item name={field.name} rules={[{ required: true, whitespace: true, message: t('questionRequired') }, { max: 500 }]} style={{ flex: 1, marginBottom: 8 }}>
                      <Input aria-label={t('question', { index: index + 1 })} maxLength={500} />
                    </Form.Item>
                    {editable && fields.length > 1 && (
                      <Button type="text" icon={<MinusCircleOutlined />} aria-label={t('removeQuestion', { index: index + 1 })} onClick={() => remove(field.name)} />
                    )}
                  </Space>
                ))}
                <Form.ErrorList errors={errors} />
                {editable && (
                  <Button type="dashed" icon={<PlusOutlined />} onClick={() => add('')}>
                    {t('addQuestion')}
                  </Button>
                )}
              </>
            )}
          </Form.List>
        </Form.Item>
        <Form.Item name="answer" label={t('answer')} rules={[{ required: true, whitespace: true, message: t('answerRequired') }, { max: 5000 }]}>
          <Input.TextArea autoSize={{ minRows: 4, maxRows: 12 }} maxLength={5000} showCount />
        </Form.Item>
        <Form.Item label={t('channelAnswers')} extra={t('channelAnswersHint')}>
          <Form.List name="channelAnswers">
            {(fields, { add, remove }) => (
              <>
                {fields.map((field, index) => (
                  <div key={field.key} style={{ display: 'flex', gap: 8, alignItems: 'flex-start', flexWrap: 'wrap' }}>
                    <Form.Item name={[field.name, 'type']} label={t('channelType')} rules={[{ required: true }]}>
                      <Select style={{ width: 150 }} options={channelTypes.map((type) => ({ value: type, label: channelTypeLabel(type) }))} />
                    </Form.Item>
                    <Form.Item name={[field.name, 'answer']} label={t('channelAnswer')} rules={[{ required: true, whitespace: true }, { max: 5000 }]} style={{ flex: 1, minWidth: 220 }}>
                      <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} maxLength={5000} />
                    </Form.Item>
                    {editable && (
                      <Button type="text" icon={<MinusCircleOutlined />} aria-label={t('removeChannelAnswer', { index: index + 1 })} onClick={() => remove(field.name)} style={{ marginTop: 30 }} />
                    )}
                  </div>
                ))}
                {editable && (
                  <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ type: 'sms_twilio', answer: '' })}>
                    {t('addChannelAnswer')}
                  </Button>
                )}
              </>
            )}
          </Form.List>
        </Form.Item>
        <Form.Item name="tags" label={t('tags')} extra={editable ? t('tagsHint') : undefined}>
          <Select mode="tags" tokenSeparators={[',', '，']} open={false} suffixIcon={null} />
        </Form.Item>
        <Form.Item name="enabled" label={t('enabled')} valuePropName="checked">
          <Switch />
        </Form.Item>
      </Form>
    </FormDrawer>
  );
}
