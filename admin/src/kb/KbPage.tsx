import { DeleteOutlined, EditOutlined, EyeOutlined, PlusOutlined, StopOutlined, CheckCircleOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Input, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { useDeferredValue, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { del, patch } from '../api/client';
import { useAuth } from '../auth/AuthProvider';
import { formatTime, fromNow } from '../shared/time';
import { ArticleDrawer } from './ArticleDrawer';
import './messages';
import { kbKeys, useArticles, type KbArticle } from './queries';

type StatusFilter = 'all' | 'enabled' | 'disabled';

const matches = (article: KbArticle, text: string) =>
  [article.title, article.answer, ...article.questions, ...article.tags, ...Object.values(article.channelAnswers)].some((field) => field.toLowerCase().includes(text));

export default function KbPage() {
  const { t } = useTranslation('kb');
  const { message } = App.useApp();
  const { can } = useAuth();
  const editable = can('admin', 'supervisor');
  const queryClient = useQueryClient();
  const articles = useArticles();
  const [search, setSearch] = useState('');
  const text = useDeferredValue(search.trim().toLowerCase());
  const [status, setStatus] = useState<StatusFilter>('all');
  const [tag, setTag] = useState<string>();
  const [drawer, setDrawer] = useState<{ article?: KbArticle }>();
  const refresh = () => queryClient.invalidateQueries({ queryKey: kbKeys.articles });
  const fail = (error: Error) => void message.error(error.message);

  const setEnabled = useMutation({
    mutationFn: ({ article, enabled }: { article: KbArticle; enabled: boolean }) => patch<KbArticle>(`/kb/articles/${article.id}`, { enabled }),
    onSuccess: (article) => void message.success(article.enabled ? t('enabledDone') : t('disabled')),
    onSettled: refresh,
    onError: fail,
  });
  const remove = useMutation({
    mutationFn: (article: KbArticle) => del(`/kb/articles/${article.id}`),
    onSuccess: () => void message.success(t('deleted')),
    onSettled: refresh,
    onError: fail,
  });

  const tags = useMemo(() => [...new Set((articles.data ?? []).flatMap((article) => article.tags))].sort(), [articles.data]);
  const rows = useMemo(
    () =>
      (articles.data ?? []).filter(
        (article) =>
          (status === 'all' || article.enabled === (status === 'enabled')) && (!tag || article.tags.includes(tag)) && (!text || matches(article, text)),
      ),
    [articles.data, status, tag, text],
  );

  return (
    <Card
      title={t('title')}
      extra={
        editable && (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setDrawer({})}>
            {t('create')}
          </Button>
        )
      }
    >
      <Typography.Paragraph type="secondary">
        {t('intro')} {!editable && t('readOnly')}
      </Typography.Paragraph>
      <Space wrap style={{ marginBottom: 16 }}>
        <Input.Search allowClear aria-label={t('search')} placeholder={t('search')} value={search} onChange={(event) => setSearch(event.target.value)} style={{ width: 320, maxWidth: '100%' }} />
        <Select<StatusFilter>
          aria-label={t('statusFilter')}
          value={status}
          onChange={setStatus}
          style={{ width: 140 }}
          options={[
            { value: 'all', label: `${t('statusFilter')}: ${t('all')}` },
            { value: 'enabled', label: t('status.enabled', { ns: 'common' }) },
            { value: 'disabled', label: t('status.disabled', { ns: 'common' }) },
          ]}
        />
        <Select
          aria-label={t('tagFilter')}
          placeholder={t('tagFilter')}
          allowClear
          showSearch
          value={tag}
          onChange={setTag}
          style={{ width: 180 }}
          options={tags.map((value) => ({ value, label: value }))}
        />
      </Space>
      <Table<KbArticle>
        rowKey="id"
        size="middle"
        loading={articles.isLoading}
        dataSource={rows}
        pagination={{ pageSize: 20, hideOnSinglePage: true, showTotal: (count) => t('count', { count }) }}
        scroll={{ x: 960 }}
        columns={[
          {
            title: t('articleTitle'),
            key: 'title',
            width: 260,
            render: (_, article) => (
              <Space orientation="vertical" size={0}>
                <Typography.Text strong>{article.title}</Typography.Text>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {article.questions[0]}
                  {article.questions.length > 1 && ` · ${t('more', { count: article.questions.length - 1 })}`}
                </Typography.Text>
              </Space>
            ),
          },
          {
            title: t('answer'),
            dataIndex: 'answer',
            render: (answer: string) => (
              <Typography.Paragraph ellipsis={{ rows: 2 }} style={{ margin: 0 }}>
                {answer}
              </Typography.Paragraph>
            ),
          },
          {
            title: t('tags'),
            key: 'tags',
            width: 180,
            render: (_, article) => (
              <Space size={[0, 4]} wrap>
                {article.tags.map((value) => (
                  <Tag key={value}>{value}</Tag>
                ))}
              </Space>
            ),
          },
          {
            title: t('status'),
            key: 'status',
            width: 90,
            render: (_, article) =>
              article.enabled ? <Tag color="success">{t('status.enabled', { ns: 'common' })}</Tag> : <Tag>{t('status.disabled', { ns: 'common' })}</Tag>,
          },
          {
            title: t('updatedAt'),
            dataIndex: 'updatedAt',
            width: 120,
            render: (at: string) => <span title={formatTime(at)}>{fromNow(at)}</span>,
          },
          {
            title: t('operations'),
            key: 'operations',
            width: editable ? 130 : 80,
            fixed: 'right',
            render: (_, article) =>
              editable ? (
                <Space size={4}>
                  <Button size="small" icon={<EditOutlined />} aria-label={t('editOf', { title: article.title })} onClick={() => setDrawer({ article })} />
                  {article.enabled ? (
                    <Popconfirm
                      title={t('disableConfirm', { title: article.title })}
                      okText={t('actions.disable', { ns: 'common' })}
                      cancelText={t('actions.cancel', { ns: 'common' })}
                      onConfirm={() => setEnabled.mutateAsync({ article, enabled: false })}
                    >
                      <Button size="small" icon={<StopOutlined />} aria-label={t('disableOf', { title: article.title })} />
                    </Popconfirm>
                  ) : (
                    <Button size="small" icon={<CheckCircleOutlined />} aria-label={t('enableOf', { title: article.title })} onClick={() => setEnabled.mutate({ article, enabled: true })} />
                  )}
                  <Popconfirm
                    title={t('deleteConfirm', { title: article.title })}
                    okText={t('actions.delete', { ns: 'common' })}
                    cancelText={t('actions.cancel', { ns: 'common' })}
                    okButtonProps={{ danger: true }}
                    onConfirm={() => remove.mutateAsync(article)}
                  >
                    <Button size="small" danger icon={<DeleteOutlined />} aria-label={t('deleteOf', { title: article.title })} />
                  </Popconfirm>
                </Space>
              ) : (
                <Button size="small" icon={<EyeOutlined />} aria-label={t('viewOf', { title: article.title })} onClick={() => setDrawer({ article })}>
                  {t('view')}
                </Button>
              ),
          },
        ]}
      />
      <ArticleDrawer open={!!drawer} article={drawer?.article} editable={editable} onClose={() => setDrawer(undefined)} />
    </Card>
  );
}
