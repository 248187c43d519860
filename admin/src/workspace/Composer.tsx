import { BulbOutlined, ClockCircleOutlined, LockOutlined, SendOutlined } from '@ant-design/icons';
import dayjs from 'dayjs';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Form, Input, Segmented, Select, Space, Tooltip, Typography } from 'antd';
import type { TextAreaRef } from 'antd/es/input/TextArea';
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, get, post } from '../api/client';
import { useLiveFeed } from '../live/LiveFeed';
import { addMessage, useNow, workspaceKeys } from './queries';
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

/**
 * A template message, the way to reach a customer once a channel's service window (WeChat, 48
 * hours) has closed: the agent picks one of the channel's templates and fills in its variables.
 */
function TemplateForm({ conversationId, channel, onSent }: { conversationId: string; channel: ReachableChannel; onSent(): void }) {
  const { t } = useTranslation('workspace');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<{ template: string; variables?: Record<string, string> }>();
  const key = useRef(crypto.randomUUID());
  const templates = channel.templates ?? [];
  const chosen = templates.find((tpl) => tpl.name === Form.useWatch('template', form));
  const send = useMutation({
    mutationFn: (values: { template: string; variables?: Record<string, string> }) =>
      post<Message>(
        `/conversations/${conversationId}/template-messages`,
        { template: values.template, variables: values.variables ?? {}, channelId: channel.channelId },
        { 'Idempotency-Key': key.current },
      ),
    onSuccess: (sent) => {
      key.current = crypto.randomUUID();
      form.resetFields();
      addMessage(queryClient, sent);
      void message.success(t('template.sent'));
      onSent();
    },
    onError: (error) => void message.error(error.message),
  });
  if (!templates.length) return <Typography.Text type="secondary">{t('template.none')}</Typography.Text>;
  return (
    <Form form={form} layout="horizontal" labelCol={{ flex: '96px' }} labelWrap size="small" onFinish={(values) => send.mutate(values)} className="ws-template-form" initialValues={{ template: templates[0]!.name }}>
      <Form.Item name="template" label={t('template.name')} rules={[{ required: true, message: t('template.nameRequired') }]}>
        <Select options={templates.map((tpl) => ({ value: tpl.name, label: tpl.name }))} />
      </Form.Item>
      {chosen?.variables?.map((variable) => (
        <Form.Item key={`${chosen.name}.${variable}`} name={['variables', variable]} label={variable} rules={[{ required: true, message: t('template.variableRequired', { name: variable }) }]}>
          <Input />
        </Form.Item>
      ))}
      <Button htmlType="submit" type="primary" loading={send.isPending}>
        {t('template.send')}
      </Button>
    </Form>
  );
}

/** Whether the chosen channel lets a free-form reply through now: its service window as the API reported it, on the clock. */
function useReplyWindow(channel: ReachableChannel | undefined, refused: string | undefined) {
  const now = useNow(30_000);
  const closesAt = channel?.window?.closesAt ? dayjs(channel.window.closesAt) : undefined;
  // The window closes while the screen is open; the clock says so before a send is refused.
  const open = !refused && channel?.window?.open !== false && (!closesAt || closesAt.valueOf() > now);
  return { open, closesAt, now, windowed: !!channel?.window || !!refused };
}

/** The service window's state above the reply box, and the template form once it has closed. */
function ReplyWindow({ channel, state, refused, conversationId, onSent }: {
  channel: ReachableChannel | undefined;
  state: ReturnType<typeof useReplyWindow>;
  refused: string | undefined;
  conversationId: string;
  onSent(): void;
}) {
  const { t } = useTranslation('workspace');
  const { open, closesAt, now, windowed } = state;
  if (!channel || !windowed) return null;
  if (open) {
    if (!closesAt) return null;
    const until = closesAt.isSame(now, 'day') ? closesAt.format('HH:mm') : closesAt.format('MM-DD HH:mm');
    return (
      <Typography.Text type="secondary" className="ws-window-open" title={closesAt.format('YYYY-MM-DD HH:mm:ss')}>
        <ClockCircleOutlined /> {t('windowOpenUntil', { until })}
      </Typography.Text>
    );
  }
  return (
    <Alert
      type="warning"
      showIcon
      title={t('windowClosedTitle')}
      description={
        <>
          <Typography.Paragraph type="secondary">{refused ?? t('windowClosed')}</Typography.Paragraph>
          <TemplateForm key={channel.channelId} conversationId={conversationId} channel={channel} onSent={onSent} />
        </>
      }
      className="ws-window-alert"
    />
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

  const send = useMutation({
    mutationFn: ({ body, mode: kind }: { body: string; mode: Mode }) =>
      kind === 'note'
        ? post<Message>(`/conversations/${conversationId}/notes`, { text: body }, { 'Idempotency-Key': draftKey.current })
        : post<Message>(`/conversations/${conversationId}/messages`, { text: body, channelId: chosen?.channelId }, { 'Idempotency-Key': draftKey.current }),
    onSuccess: (sent) => {
      draftKey.current = crypto.randomUUID();
      setText('');
      addMessage(queryClient, sent);
    },
    onError: (error) => {
      if (error instanceof ApiError && error.code === 'channel_window_closed') {
        setWindowClosed(error.message);
        void queryClient.invalidateQueries({ queryKey: workspaceKeys.channels(conversationId) });
      } else void message.error(error.message);
    },
  });

  const replyWindow = useReplyWindow(chosen, windowClosed);
  const blocked = disabled || (mode === 'reply' && !replyWindow.open);
  const submit = () => {
    const body = text.trim();
    if (!body || send.isPending || blocked) return;
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
      {mode === 'reply' && <ReplyWindow channel={chosen} state={replyWindow} refused={windowClosed} conversationId={conversationId} onSent={() => setWindowClosed(undefined)} />}
      {/* With the window closed only a template reaches the customer: the free-text box makes way for its form. */}
      {(mode === 'note' || replyWindow.open) && (
        <>
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
          <Button type="primary" icon={mode === 'note' ? <LockOutlined /> : <SendOutlined />} onClick={submit} loading={send.isPending} disabled={blocked || !text.trim()}>
            {mode === 'note' ? t('addNote') : t('send')}
          </Button>
        </Space>
        </>
      )}
    </div>
  );
}
