import { EditOutlined, MergeCellsOutlined, SafetyCertificateOutlined, UndoOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Descriptions, Empty, Form, Input, Modal, Space, Spin, Tag, Typography } from 'antd';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { get, patch, post, type Page } from '../api/client';
import { useAuth } from '../auth/AuthProvider';
import { formatTime, fromNow } from '../shared/time';
import type { Contact, ContactMerge, Conversation, Duplicate } from '../workspace/types';
import './messages';

const contactKeys = {
  contact: (id: string) => ['contacts', id] as const,
  duplicates: (id: string) => ['contacts', id, 'duplicates'] as const,
  merges: (id: string) => ['contacts', id, 'merges'] as const,
  conversations: (id: string) => ['contacts', id, 'conversations'] as const,
};

function EditContact({ contact, open, onClose }: { contact: Contact; open: boolean; onClose(): void }) {
  const { t } = useTranslation('contacts');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<{ name: string; tier: string }>();
  const save = useMutation({
    mutationFn: (values: { name: string; tier: string }) => patch<Contact>(`/contacts/${contact.id}`, { name: values.name.trim() || null, tier: values.tier.trim() || null }),
    onSuccess: (updated) => {
      queryClient.setQueryData(contactKeys.contact(contact.id), updated);
      void queryClient.invalidateQueries({ queryKey: ['workspace', 'conversations'] });
      void message.success(t('common:saved'));
      onClose();
    },
    onError: (error) => void message.error(error.message),
  });
  return (
    <Modal open={open} title={t('edit')} onCancel={onClose} onOk={() => form.submit()} okText={t('common:actions.save')} cancelText={t('common:actions.cancel')} confirmLoading={save.isPending} destroyOnHidden>
      <Form form={form} layout="vertical" initialValues={{ name: contact.name ?? '', tier: contact.tier ?? '' }} onFinish={(values) => save.mutate(values)}>
        <Form.Item name="name" label={t('name')} rules={[{ max: 200 }]}>
          <Input />
        </Form.Item>
        <Form.Item name="tier" label={t('tier')} rules={[{ max: 50 }]} extra={t('tierHint')}>
          <Input />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** A short list of the panel: each entry with what it is, a line under it and its action. */
function PanelList<T>({ items, loading, empty, render }: { items: T[]; loading?: boolean; empty: string; render(item: T): { key: string; title: ReactNode; description?: ReactNode; action?: ReactNode } }) {
  if (loading) return <Spin size="small" />;
  if (!items.length) return <Typography.Text type="secondary">{empty}</Typography.Text>;
  return (
    <ul className="ws-panel-list">
      {items.map((item) => {
        const { key, title, description, action } = render(item);
        return (
          <li key={key}>
            <div className="ws-panel-item">
              <div>{title}</div>
              {description && <Typography.Text type="secondary">{description}</Typography.Text>}
            </div>
            {action}
          </li>
        );
      })}
    </ul>
  );
}

/**
 * A contact named as a person would: name, else their first identity. Another contact (a suggested
 * duplicate, the other side of a merge) is looked up only for admins and supervisors, who may see
 * every contact; an agent sees only the contacts of conversations they may see (docs/security.md),
 * so for them it stays a short id rather than a refused read.
 */
function ContactLabel({ id, lookUp }: { id: string; lookUp: boolean }) {
  const { t } = useTranslation('contacts');
  const contact = useQuery({
    queryKey: contactKeys.contact(id),
    enabled: lookUp,
    queryFn: () => get<Contact>(`/contacts/${id}`),
    staleTime: 60_000,
    retry: false,
  });
  // A merged contact's id answers with the survivor; it has no name of its own until undone.
  if (!contact.data || contact.data.resolvedFrom) return <Typography.Text type="secondary">{t('contactId', { id: id.slice(0, 8) })}</Typography.Text>;
  return <>{contact.data.name ?? contact.data.identities[0]?.value ?? id.slice(0, 8)}</>;
}

/**
 * Who the customer is: identities across channels, attributes, earlier conversations, and the
 * merges that made this contact, with merge suggestions and undo for supervisors.
 */
export function ContactPanel({ contactId, conversationId }: { contactId: string; conversationId?: string }) {
  const { t } = useTranslation('contacts');
  const { message, modal } = App.useApp();
  const { can } = useAuth();
  const queryClient = useQueryClient();
  const manager = can('admin', 'supervisor');
  const [editing, setEditing] = useState(false);
  const [mergeId, setMergeId] = useState('');

  const contact = useQuery({ queryKey: contactKeys.contact(contactId), queryFn: () => get<Contact>(`/contacts/${contactId}`) });
  const liveId = contact.data?.id ?? contactId;
  const duplicates = useQuery({ queryKey: contactKeys.duplicates(liveId), queryFn: () => get<{ items: Duplicate[] }>(`/contacts/${liveId}/duplicates`) });
  const merges = useQuery({ queryKey: contactKeys.merges(liveId), queryFn: () => get<Page<ContactMerge>>('/contact-merges', { contactId: liveId, limit: 20 }) });
  const conversations = useQuery({
    queryKey: contactKeys.conversations(liveId),
    queryFn: () => get<Page<Conversation>>('/conversations', { contactId: liveId, limit: 20 }),
  });

  const refreshAll = () => {
    void queryClient.invalidateQueries({ queryKey: ['contacts'] });
    void queryClient.invalidateQueries({ queryKey: ['workspace'] });
  };

  const merge = useMutation({
    mutationFn: (mergedId: string) => post<ContactMerge>('/contacts/merge', { survivorId: liveId, mergedId }),
    onSuccess: () => {
      void message.success(t('merged'));
      setMergeId('');
      refreshAll();
    },
    onError: (error) => void message.error(error.message),
  });
  const undo = useMutation({
    mutationFn: (id: string) => post<ContactMerge>(`/contact-merges/${id}/undo`),
    onSuccess: () => {
      void message.success(t('undone'));
      refreshAll();
    },
    onError: (error) => void message.error(error.message),
  });

  const confirmMerge = (otherId: string) =>
    modal.confirm({
      title: t('mergeConfirmTitle'),
      content: t('mergeConfirm'),
      okText: t('merge'),
      cancelText: t('common:actions.cancel'),
      onOk: () => merge.mutateAsync(otherId),
    });
  const confirmUndo = (record: ContactMerge) =>
    modal.confirm({
      title: t('undoConfirmTitle'),
      content: t('undoConfirm'),
      okText: t('undo'),
      cancelText: t('common:actions.cancel'),
      onOk: () => undo.mutateAsync(record.id),
    });

  if (contact.isLoading) return <Spin className="page-spin" />;
  if (!contact.data) return <Empty description={contact.error?.message} />;
  const c = contact.data;
  const attributes = Object.entries(c.attributes ?? {});

  return (
    <aside className="ws-contact" aria-label={t('title')}>
      <div className="ws-contact-head">
        <Space orientation="vertical" size={0}>
          <Typography.Title level={5} className="ws-contact-name">
            {c.name ?? t('unnamed')}
          </Typography.Title>
          <Space size={4} wrap>
            {c.tier ? <Tag color="gold">{c.tier}</Tag> : <Typography.Text type="secondary">{t('noTier')}</Typography.Text>}
            {c.tags.map((tag) => (
              <Tag key={tag}>{tag}</Tag>
            ))}
          </Space>
        </Space>
        <Button size="small" icon={<EditOutlined />} onClick={() => setEditing(true)}>
          {t('common:actions.edit')}
        </Button>
      </div>

      <Typography.Title level={5} className="ws-contact-section">
        {t('identities')}
      </Typography.Title>
      <PanelList
        items={c.identities}
        empty={t('noIdentities')}
        render={(identity) => ({
          key: identity.id,
          title: (
            <Space size={4} wrap>
              <Typography.Text type="secondary">{t(`kinds.${identity.kind}`, { defaultValue: identity.kind })}</Typography.Text>
              <Typography.Text copyable={{ text: identity.value }}>{identity.value}</Typography.Text>
              {identity.verified && (
                <Tag color="green" icon={<SafetyCertificateOutlined />}>
                  {t('verified')}
                </Tag>
              )}
            </Space>
          ),
        })}
      />

      {(attributes.length > 0 || c.language || c.timezone || c.birthday) && (
        <>
          <Typography.Title level={5} className="ws-contact-section">
            {t('attributes')}
          </Typography.Title>
          <Descriptions size="small" column={1} bordered>
            {c.language && <Descriptions.Item label={t('language')}>{c.language}</Descriptions.Item>}
            {c.timezone && <Descriptions.Item label={t('timezone')}>{c.timezone}</Descriptions.Item>}
            {c.birthday && <Descriptions.Item label={t('birthday')}>{c.birthday}</Descriptions.Item>}
            {attributes.map(([key, value]) => (
              <Descriptions.Item key={key} label={key}>
                {typeof value === 'object' ? JSON.stringify(value) : String(value)}
              </Descriptions.Item>
            ))}
          </Descriptions>
        </>
      )}

      <Typography.Title level={5} className="ws-contact-section">
        {t('conversations')}
      </Typography.Title>
      <PanelList
        items={conversations.data?.items ?? []}
        loading={conversations.isLoading}
        empty={t('noConversations')}
        render={(item) => ({
          key: item.id,
          title:
            item.id === conversationId ? (
              <Typography.Text strong>{t('thisConversation')}</Typography.Text>
            ) : (
              <Link to={`/workspace/${item.id}`}>{t('conversationOf', { when: formatTime(item.createdAt) })}</Link>
            ),
          action: <Tag>{t(`workspace:status.${item.status}`)}</Tag>,
        })}
      />

      <Typography.Title level={5} className="ws-contact-section">
        {t('duplicates')}
      </Typography.Title>
      <PanelList
        items={duplicates.data?.items ?? []}
        loading={duplicates.isLoading}
        empty={t('noDuplicates')}
        render={(item) => ({
          key: `${item.contactId}:${item.kind}:${item.value}`,
          title: <ContactLabel id={item.contactId} lookUp={manager} />,
          description: t('sharedIdentity', { kind: t(`kinds.${item.kind}`, { defaultValue: item.kind }), value: item.value }),
          action: manager && (
            <Button size="small" icon={<MergeCellsOutlined />} onClick={() => confirmMerge(item.contactId)} aria-label={t('mergeWith', { value: item.value })}>
              {t('merge')}
            </Button>
          ),
        })}
      />
      {manager && (
        <Space.Compact className="ws-merge-by-id">
          <Input aria-label={t('mergeById')} placeholder={t('mergeById')} value={mergeId} onChange={(event) => setMergeId(event.target.value.trim())} />
          <Button disabled={!/^[0-9a-f-]{36}$/i.test(mergeId) || mergeId === liveId} onClick={() => confirmMerge(mergeId)}>
            {t('merge')}
          </Button>
        </Space.Compact>
      )}

      <Typography.Title level={5} className="ws-contact-section">
        {t('mergeHistory')}
      </Typography.Title>
      <PanelList
        items={merges.data?.items ?? []}
        loading={merges.isLoading}
        empty={t('noMerges')}
        render={(record) => ({
          key: record.id,
          title: (
            <span>
              {t('mergedInto', { when: fromNow(record.createdAt) })} {record.undoneAt && <Tag>{t('undoneTag')}</Tag>}
            </span>
          ),
          description: (
            <>
              <ContactLabel id={record.mergedId} lookUp={manager || record.mergedId === liveId} /> → <ContactLabel id={record.survivorId} lookUp={manager || record.survivorId === liveId} />
              {record.rule === 'manual' ? ` · ${t('byPerson')}` : ` · ${t('byRule', { rule: record.rule })}`}
            </>
          ),
          action: manager && !record.undoneAt && (
            <Button size="small" danger icon={<UndoOutlined />} onClick={() => confirmUndo(record)} aria-label={t('undoMerge')}>
              {t('undo')}
            </Button>
          ),
        })}
      />
      <EditContact contact={c} open={editing} onClose={() => setEditing(false)} />
    </aside>
  );
}
