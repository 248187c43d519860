import { BulbOutlined, LockOutlined, SendOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Form, Input, Segmented, Select, Space, Tooltip, Typography } from 'antd';
import type { TextAreaRef } from 'antd/es/input/TextArea';
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, get, post } from '../api/client';
import { useLiveFeed } from '../live/LiveFeed';
import { workspaceKeys } from './queries';
import type { Message, ReachableChannel, Suggestion } from './types';

type Mode = 'reply' | 'note';

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
export const sendKeyLabel = isMac ? '⌘+Enter' : 'Ctrl+Enter';

/** Agent assist: the knowledge-base answers closest to the customer's last message, one click into the draft. */
function Suggestions({ conversationId, onInsert }: { conversationId: string; onInsert(text: string): void }) {
  const { t } = useTranslation('workspace');
  const suggestions = useQuery({
    queryKey: ['workspace', 'suggestions', conversationId],
    queryFn: () => get<{ items: Suggestion[] }>(`/conversations/${conversationId}/suggestions`, { limit: 3 }),
    staleTime: 60_000,
    retry: false,
  });
  const items = suggestions.data?.items ?? [];
  if (!items.length) return null;
  return (
    <div className="ws-suggestions" role="group" aria-label={t('suggestions.title')}>
      <Typography.Text type="secondary">
        <BulbOutlined /> {t('suggestions.title')}
      </Typography.Text>
      {items.map((item) => (
        <Tooltip key={item.articleId} title={item.answer}>
          <Button size="small" onClick={() => onInsert(item.answer)} aria-label={t('suggestions.insert', { title: item.title })}>
            {item.title}
          </Button>
        </Tooltip>
      ))}
    </div>
  );
}

/** A template message for a channel whose service window has closed (WeChat after 48 hours). */
function TemplateForm({ conversationId, channel, onSent }: { conversationId: string; channel: ReachableChannel | undefined; onSent(): void }) {
  const { t } = useTranslation('workspace');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const key = useRef(crypto.randomUUID());
  const send = useMutation({
    mutationFn: (values: { template: string; variables?: string }) =>
      post<Message>(
        `/conversations/${conversationId}/template-messages`,
        {
          template: values.template,
          variables: Object.fromEntries(
            (values.variables ?? '')
              .split('\n')
              .map((line) => line.split('='))
              .filter((parts) => parts.length >= 2 && parts[0]!.trim())
              .map(([name, ...rest]) => [name!.trim(), rest.join('=').trim()]),
          ),
          channelId: channel?.channelId,
        },
        { 'Idempotency-Key': key.current },
      ),
    onSuccess: () => {
      key.current = crypto.randomUUID();
      void queryClient.invalidateQueries({ queryKey: workspaceKeys.messages(conversationId) });
      onSent();
    },
    onError: (error) => message.error(error.message),
  });
  const templates = channel?.templates ?? [];
  return (
    <Form layout="vertical" size="small" onFinish={(values) => send.mutate(values)} className="ws-template-form">
      <Form.Item name="template" label={t('template.name')} rules={[{ required: true, message: t('template.nameRequired') }]}>
        {templates.length ? <Select options={templates.map((tpl) => ({ value: tpl.name, label: tpl.name }))} /> : <Input />}
      </Form.Item>
      <Form.Item name="variables" label={t('template.variables')} extra={t('template.variablesHint')}>
        <Input.TextArea autoSize={{ minRows: 2, maxRows: 5 }} />
      </Form.Item>
      <Button htmlType="submit" type="primary" loading={send.isPending}>
        {t('template.send')}
      </Button>
    </Form>
  );
}

interface Props {
  conversationId: string;
  channels: ReachableChannel[];
  lastChannelId: string | null;
  disabled: boolean;
}

/**
 * The reply box. One idempotency key per draft: a double click, or a retry after a lost answer,
 * sends the message once. The agent's typing reaches the customer as a hint, at most every two seconds.
 */
export function Composer({ conversationId, channels, lastChannelId, disabled }: Props) {
  const { t } = useTranslation('workspace');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const { send: sendFrame } = useLiveFeed();
  const [mode, setMode] = useState<Mode>('reply');
  const [text, setText] = useState('');
  const [channelId, setChannelId] = useState<string | undefined>();
  const [windowClosed, setWindowClosed] = useState<string>();
  const draftKey = useRef(crypto.randomUUID());
  const lastTyping = useRef(0);
  const inputRef = useRef<TextAreaRef>(null);

  useEffect(() => {
    setText('');
    setMode('reply');
    setChannelId(undefined);
    setWindowClosed(undefined);
    draftKey.current = crypto.randomUUID();
  }, [conversationId]);

  const chosen = channels.find((c) => c.channelId === channelId) ?? channels.find((c) => c.channelId === lastChannelId) ?? channels.find((c) => c.last);
  const closed = windowClosed ?? (chosen?.window && !chosen.window.open ? t('windowClosed') : undefined);

  const send = useMutation({
    mutationFn: ({ body, mode: kind }: { body: string; mode: Mode }) =>
      kind === 'note'
        ? post<Message>(`/conversations/${conversationId}/notes`, { text: body }, { 'Idempotency-Key': draftKey.current })
        : post<Message>(`/conversations/${conversationId}/messages`, { text: body, channelId: chosen?.channelId }, { 'Idempotency-Key': draftKey.current }),
    onSuccess: (sent) => {
      draftKey.current = crypto.randomUUID();
      setText('');
      queryClient.setQueryData<Message[]>(workspaceKeys.messages(conversationId), (old) => (old && !old.some((m) => m.id === sent.id) ? [...old, sent] : old));
      void queryClient.invalidateQueries({ queryKey: workspaceKeys.messages(conversationId) });
    },
    onError: (error) => {
      if (error instanceof ApiError && error.code === 'channel_window_closed') setWindowClosed(error.message);
      else void message.error(error.message);
    },
  });

  const submit = () => {
    const body = text.trim();
    if (!body || send.isPending || disabled) return;
    send.mutate({ body, mode });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
    }
  };

  const onChange = (value: string) => {
    setText(value);
    if (mode === 'reply' && value && Date.now() - lastTyping.current > 2_000) {
      lastTyping.current = Date.now();
      sendFrame({ type: 'typing', conversationId });
    }
  };

  const insert = (answer: string) => {
    setText((current) => (current.trim() ? `${current.trimEnd()}\n${answer}` : answer));
    inputRef.current?.focus();
  };

  return (
    <div className={`ws-composer${mode === 'note' ? ' ws-composer-note' : ''}`}>
      {mode === 'reply' && <Suggestions conversationId={conversationId} onInsert={insert} />}
      <div className="ws-composer-bar">
        <Segmented<Mode>
          size="small"
          value={mode}
          onChange={setMode}
          options={[
            { value: 'reply', label: t('mode.reply') },
            { value: 'note', label: t('mode.note'), icon: <LockOutlined /> },
          ]}
          aria-label={t('mode.label')}
        />
        {mode === 'reply' && (
          <Select
            size="small"
            aria-label={t('replyChannel')}
            value={chosen?.channelId}
            onChange={(id) => {
              setChannelId(id);
              setWindowClosed(undefined);
            }}
            popupMatchSelectWidth={false}
            title={chosen?.identity?.value}
            options={channels.map((c) => ({
              value: c.channelId,
              label: `${c.name}${c.identity ? ` · ${c.identity.value}` : ''}${c.last ? ` (${t('lastUsed')})` : ''}`,
            }))}
            labelRender={({ value }) => channels.find((c) => c.channelId === value)?.name ?? value}
          />
        )}
      </div>
      {mode === 'reply' && closed && (
        <Alert
          type="warning"
          showIcon
          title={t('windowClosedTitle')}
          description={
            <>
              <Typography.Paragraph type="secondary">{closed}</Typography.Paragraph>
              <TemplateForm conversationId={conversationId} channel={chosen} onSent={() => setWindowClosed(undefined)} />
            </>
          }
          className="ws-window-alert"
        />
      )}
      <Input.TextArea
        ref={inputRef}
        value={text}
        onChange={(event) => onChange(event.target.value)}
        onKeyDown={onKeyDown}
        autoSize={{ minRows: 2, maxRows: 8 }}
        disabled={disabled}
        aria-label={mode === 'note' ? t('noteLabel') : t('replyLabel')}
        placeholder={t(mode === 'note' ? 'notePlaceholder' : 'replyPlaceholder', { keys: sendKeyLabel })}
        maxLength={20_000}
      />
      <Space className="ws-composer-actions">
        <Typography.Text type="secondary" className="ws-hint">
          {t(mode === 'note' ? 'noteHint' : 'sendHint', { keys: sendKeyLabel })}
        </Typography.Text>
        <Button type="primary" icon={mode === 'note' ? <LockOutlined /> : <SendOutlined />} onClick={submit} loading={send.isPending} disabled={disabled || !text.trim()}>
          {mode === 'note' ? t('addNote') : t('send')}
        </Button>
      </Space>
    </div>
  );
}
