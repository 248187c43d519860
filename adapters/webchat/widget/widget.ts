// The embeddable chat widget: `<script src="https://HUB/widget.js" data-channel="ID" async>`.
// Everything lives in a shadow root, so the host page's styles never reach it and its styles
// never reach the page.
import { widgetStyles } from './widget-styles.js';

interface Attachment {
  id: string;
  contentType: string;
  fileName: string | null;
  size: number;
}
interface ServerMessage {
  id: string;
  seq: number;
  direction: 'inbound' | 'outbound';
  authorKind: 'contact' | 'agent' | 'bot' | 'system';
  authorName: string | null;
  contentKind: string;
  text: string | null;
  payload: { clientId?: string; attachments?: Attachment[] };
  status: string;
}
interface Pending {
  id: string;
  text?: string;
  attachments?: string[];
  previews?: string[];
  contact?: { name?: string; email?: string; phone?: string };
  /** The hub has stored it; shown as sent until its stored copy arrives with the history. */
  acked?: boolean;
}
interface Welcome {
  visitorToken: string;
  title: string;
  onDuty: boolean;
  maxAttachmentBytes: number;
  attachmentTypes: string[];
  maxFrameBytes: number;
}
type Frame =
  | ({ type: 'welcome' } & Welcome)
  | { type: 'ack'; id: string }
  | { type: 'error'; id?: string; code: string; message: string }
  | { type: 'message'; message: ServerMessage }
  | { type: 'history'; messages: ServerMessage[] }
  | { type: 'typing'; agentName: string };

const script = document.currentScript as HTMLScriptElement | null;
const hubUrl = new URL(script?.src ?? location.href);
const channelId = script?.dataset.channel ?? '';
const identity = {
  identityToken: script?.dataset.identityToken,
  userId: script?.dataset.userId,
  userHash: script?.dataset.userHash,
};
const storageKey = (what: string) => `hubchat:${channelId}:${what}`;
const emoji = ['😀', '😊', '🙂', '😉', '😍', '🤔', '😢', '😡', '👍', '👎', '🙏', '👏', '🎉', '❤️', '✅', '❓', '💳', '🏦', '📄', '⏰'];
// At most one typing frame this often while the visitor types; the agent's indicator shows this
// long after the last frame the agent's console sent.
const typingEveryMs = 2_000;
const typingShownMs = 4_000;
// Close codes after which reconnecting cannot help: the visitor or the page is refused.
const finalCloseCodes = [4401, 4403, 4404];

function read<T>(what: string, fallback: T): T {
  try {
    return (JSON.parse(localStorage.getItem(storageKey(what)) ?? 'null') as T | null) ?? fallback;
  } catch {
    return fallback;
  }
}
function write(what: string, value: unknown) {
  try {
    localStorage.setItem(storageKey(what), JSON.stringify(value));
  } catch {
    // Private browsing may refuse storage; the chat still works for this page view.
  }
}

function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: Array<Node | string>) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

const state = {
  visitorToken: read<string | undefined>('visitor', undefined),
  outbox: read<Pending[]>('outbox', []),
  messages: new Map<string, ServerMessage>(),
  /** Cursor of history fetches only: a live push may overtake a message still being stored. */
  lastSeq: 0,
  welcome: undefined as Welcome | undefined,
  socket: undefined as WebSocket | undefined,
  socketOpened: false,
  failures: 0,
  polling: false,
  closedFor: undefined as string | undefined,
  reported: new Set<string>(),
  lastTypingSent: 0,
  typingTimer: undefined as ReturnType<typeof setTimeout> | undefined,
};

const host = h('div', { id: 'hub-chat-widget' });
const root = host.attachShadow({ mode: 'open' });
// Icons are inline SVG: an emoji font may be missing on the visitor's device.
function icon(path: string) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.innerHTML = `<path d="${path}"/>`;
  return svg;
}
const launcher = h('button', { class: 'launcher', 'aria-label': 'Open chat' }, icon('M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z'));
const title = h('strong', {}, 'Chat');
const closeButton = h('button', { class: 'icon', 'aria-label': 'Close chat' }, '✕');
const status = h('span', { class: 'status' }, 'Connecting…');
const list = h('div', { class: 'messages', role: 'log', 'aria-live': 'polite' });
const typing = h('div', { class: 'typing', hidden: '' });
const notice = h('div', { class: 'notice', role: 'alert', hidden: '' });
const input = h('textarea', { rows: '1', placeholder: 'Type a message…', 'aria-label': 'Message' });
const fileInput = h('input', { type: 'file', hidden: '' });
const emojiButton = h('button', { class: 'icon', 'aria-label': 'Emoji' }, '😊');
const attachButton = h(
  'button',
  { class: 'icon', 'aria-label': 'Attach a file' },
  icon('M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9'),
);
const sendButton = h('button', { class: 'send', 'aria-label': 'Send' }, 'Send');
const emojiPanel = h('div', { class: 'emoji', hidden: '' }, ...emoji.map((e) => h('button', { type: 'button' }, e)));
const composer = h('div', { class: 'composer' }, emojiButton, attachButton, input, sendButton, fileInput);
const offlineForm = h(
  'form',
  { class: 'offline', hidden: '' },
  h('p', {}, 'Nobody is available right now. Leave a message and we will get back to you.'),
  h('input', { name: 'name', placeholder: 'Your name', 'aria-label': 'Your name', maxlength: '200' }),
  h('input', { name: 'email', type: 'email', placeholder: 'Email', 'aria-label': 'Email', maxlength: '254' }),
  h('input', { name: 'phone', type: 'tel', placeholder: 'Phone', 'aria-label': 'Phone', maxlength: '40' }),
  h('textarea', { name: 'text', placeholder: 'Your message', 'aria-label': 'Your message', required: '', maxlength: '4000' }),
  h('button', { class: 'send', type: 'submit' }, 'Send'),
);
const panel = h(
  'section',
  { class: 'panel', hidden: '', role: 'dialog', 'aria-label': 'Chat' },
  h('header', {}, h('div', {}, title, status), closeButton),
  list,
  typing,
  notice,
  offlineForm,
  emojiPanel,
  composer,
);
root.append(h('style', {}, widgetStyles), h('div', { class: 'root' }, launcher, panel));

function showNotice(text: string | undefined) {
  notice.textContent = text ?? '';
  notice.toggleAttribute('hidden', !text);
}

function hello() {
  return { type: 'hello', ...(state.visitorToken ? { visitorToken: state.visitorToken } : {}), ...clean(identity) };
}
function clean<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

function render() {
  const items = [...state.messages.values()].sort((a, b) => a.seq - b.seq);
  const shown = new Set(items.map((m) => m.payload.clientId).filter(Boolean));
  // An agent who replied has read what the visitor wrote before the reply.
  const readBefore = Math.max(0, ...items.filter((m) => m.authorKind === 'agent').map((m) => m.seq));
  const rows: Node[] = items.map((m) => renderMessage(m, m.seq < readBefore));
  state.outbox = state.outbox.filter((p) => !(p.acked && shown.has(p.id)));
  for (const p of state.outbox) if (!shown.has(p.id)) rows.push(renderPending(p));
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...rows);
  if (atBottom || rows.length < 8) list.scrollTop = list.scrollHeight;
  reportRead();
}

function renderMessage(m: ServerMessage, read: boolean): Node {
  if (m.authorKind === 'system') return h('div', { class: 'system' }, m.text ?? '');
  const mine = m.direction === 'inbound';
  const body = h('div', { class: 'bubble' });
  if (m.text) body.append(h('p', {}, m.text));
  for (const file of m.payload.attachments ?? []) body.append(renderFile(file));
  if (mine) return h('div', { class: 'row mine', 'data-status': read ? 'read' : 'sent' }, body, h('small', {}, read ? 'Read' : 'Sent'));
  const name = m.authorName ?? (m.authorKind === 'bot' ? 'Assistant' : 'Agent');
  const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' }, name.trim().slice(0, 1).toUpperCase());
  return h('div', { class: 'row theirs' }, avatar, h('div', {}, h('small', { class: 'name' }, name), body));
}

function renderPending(p: Pending): Node {
  const body = h('div', { class: 'bubble' });
  if (p.text) body.append(h('p', {}, p.text));
  for (const src of p.previews ?? []) body.append(h('img', { src, alt: 'image' }));
  const label = p.acked ? 'Sent' : 'Sending…';
  return h('div', { class: `row mine${p.acked ? '' : ' pending'}`, 'data-status': p.acked ? 'sent' : 'sending' }, body, h('small', {}, label));
}

function renderFile(file: Attachment): Node {
  if (file.contentType.startsWith('image/')) {
    const img = h('img', { alt: file.fileName ?? 'image' });
    void fetchFile(file.id).then((url) => url && img.setAttribute('src', url));
    return img;
  }
  const link = h('a', { href: '#', class: 'file' }, `📄 ${file.fileName ?? 'file'}`);
  link.addEventListener('click', (event) => {
    event.preventDefault();
    void fetchFile(file.id).then((url) => url && window.open(url, '_blank'));
  });
  return link;
}

const fileUrls = new Map<string, Promise<string | undefined>>();
function fetchFile(id: string): Promise<string | undefined> {
  const cached = fileUrls.get(id);
  if (cached) return cached;
  const url = fetch(api(`/attachments/${id}`), { headers: { 'x-hub-hello': encodeURIComponent(JSON.stringify(hello())) } })
    .then(async (r) => (r.ok ? URL.createObjectURL(await r.blob()) : undefined))
    .catch(() => undefined);
  fileUrls.set(id, url);
  return url;
}

function api(path: string) {
  return new URL(`/widget/v1/channels/${channelId}${path}`, hubUrl).toString();
}

/** Tells the hub which agent messages the visitor has seen, once each, while the panel is open. */
function reportRead() {
  if (panel.hidden || document.visibilityState !== 'visible') return;
  for (const m of state.messages.values()) {
    if (m.direction !== 'outbound' || m.status === 'read' || state.reported.has(m.id)) continue;
    if (transmit({ type: 'read', messageId: m.id })) state.reported.add(m.id);
  }
}

function merge(messages: ServerMessage[], fromHistory: boolean) {
  for (const m of messages) {
    state.messages.set(m.id, m);
    if (fromHistory) state.lastSeq = Math.max(state.lastSeq, m.seq);
  }
  render();
}

function applyWelcome(welcome: Welcome) {
  state.welcome = welcome;
  state.visitorToken = welcome.visitorToken;
  write('visitor', welcome.visitorToken);
  title.textContent = welcome.title;
  status.textContent = welcome.onDuty ? 'Online' : 'Offline';
  fileInput.setAttribute('accept', welcome.attachmentTypes.join(','));
  const offline = !welcome.onDuty && !state.messages.size && !state.outbox.length;
  offlineForm.toggleAttribute('hidden', !offline);
  composer.toggleAttribute('hidden', offline);
}

function handle(frame: Frame) {
  switch (frame.type) {
    case 'welcome':
      applyWelcome(frame);
      transmit({ type: 'history', after: state.lastSeq });
      flush();
      return;
    case 'ack':
      settle(frame.id, true);
      return;
    case 'error':
      showNotice(frame.message);
      if (frame.id && frame.code !== 'rate_limited') settle(frame.id, false);
      // A message over the rate limit stays in the outbox and goes again shortly.
      if (frame.code === 'rate_limited') setTimeout(flush, 1_500);
      return;
    case 'message':
      // The agent's reply ends their typing.
      if (frame.message.direction === 'outbound') showTyping(undefined);
      merge([frame.message], false);
      return;
    case 'typing':
      showTyping(frame.agentName);
      return;
    case 'history':
      merge(frame.messages, true);
  }
}

function showTyping(agentName: string | undefined) {
  clearTimeout(state.typingTimer);
  typing.textContent = agentName ? `${agentName} is typing…` : '';
  typing.toggleAttribute('hidden', !agentName);
  if (agentName) state.typingTimer = setTimeout(() => showTyping(undefined), typingShownMs);
}

/** The hub has the message, or refused it for good: either way it is not sent again. */
function settle(id: string, accepted: boolean) {
  state.outbox = accepted ? state.outbox.map((p) => (p.id === id ? { ...p, acked: true } : p)) : state.outbox.filter((p) => p.id !== id);
  saveOutbox();
  // The pipeline stores the message within moments; fetch it so the list shows the stored copy.
  for (const delay of [800, 3_000]) setTimeout(() => transmit({ type: 'history', after: state.lastSeq }), delay);
  render();
}

function saveOutbox() {
  write('outbox', state.outbox.filter((p) => !p.acked).map(({ previews: _previews, ...p }) => p));
}

function transmit(frame: object): boolean {
  if (state.polling) {
    void post(frame);
    return true;
  }
  if (state.socket?.readyState !== WebSocket.OPEN || !state.welcome) return false;
  state.socket.send(JSON.stringify(frame));
  return true;
}

/** Sends every unacknowledged message again; the hub stores each client id once. */
function flush() {
  for (const p of state.outbox) if (!p.acked) transmit({ type: 'message', id: p.id, text: p.text, attachments: p.attachments, contact: p.contact });
}

function connect() {
  if (state.closedFor || state.polling || state.socket) return;
  const url = new URL('/widget/socket', hubUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('channel', channelId);
  const socket = new WebSocket(url);
  state.socket = socket;
  socket.onopen = () => {
    state.socketOpened = true;
    state.failures = 0;
    socket.send(JSON.stringify(hello()));
  };
  socket.onmessage = (event) => handle(JSON.parse(String(event.data)) as Frame);
  socket.onclose = (event) => {
    state.socket = undefined;
    state.welcome = undefined;
    if (finalCloseCodes.includes(event.code)) {
      state.closedFor = event.reason || 'This chat is not available.';
      status.textContent = 'Unavailable';
      showNotice(state.closedFor);
      return;
    }
    if (event.code === 1009) showNotice('That message is too long to send.');
    status.textContent = navigator.onLine ? 'Reconnecting…' : 'Offline: messages will be sent when you are back online';
    state.failures += 1;
    // A proxy that blocks WebSockets never lets one open: fall back to polling over HTTP.
    if (!state.socketOpened && state.failures >= 3) return startPolling();
    setTimeout(connect, Math.min(15_000, 500 * 2 ** state.failures));
  };
}

async function post(frame?: object): Promise<void> {
  try {
    const response = await fetch(api('/frames'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: hello(), ...(frame ? { frame } : {}) }),
    });
    const body = (await response.json()) as { welcome?: Welcome; replies?: Frame[]; error?: string; code?: string };
    if (!response.ok) {
      const id = (frame as { id?: string } | undefined)?.id;
      handle({ type: 'error', code: body.code ?? 'error', message: body.error ?? 'The chat is not available.', ...(id ? { id } : {}) });
      return;
    }
    if (body.welcome && !state.welcome) applyWelcome(body.welcome);
    for (const reply of body.replies ?? []) handle(reply);
    status.textContent = state.welcome?.onDuty ? 'Online' : 'Offline';
  } catch {
    status.textContent = 'Offline: messages will be sent when you are back online';
  }
}

function startPolling() {
  state.polling = true;
  const poll = async () => {
    await post({ type: 'history', after: state.lastSeq });
    flush();
    setTimeout(poll, 3_000);
  };
  void poll();
}

function enqueue(p: Pending) {
  state.outbox.push(p);
  saveOutbox();
  render();
  transmit({ type: 'message', id: p.id, text: p.text, attachments: p.attachments, contact: p.contact });
}

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function sendText() {
  const text = input.value.trim();
  if (!text) return;
  if (state.welcome && new Blob([text]).size > state.welcome.maxFrameBytes - 512) {
    showNotice('That message is too long to send.');
    return;
  }
  input.value = '';
  showNotice(undefined);
  enqueue({ id: newId(), text });
}

async function sendFile(file: File) {
  const welcome = state.welcome;
  if (!welcome) return showNotice('Not connected yet; please try again in a moment.');
  if (!welcome.attachmentTypes.includes(file.type)) return showNotice(`Files of type ${file.type || 'unknown'} cannot be sent here.`);
  if (file.size > welcome.maxAttachmentBytes) return showNotice(`Files are limited to ${Math.floor(welcome.maxAttachmentBytes / 1024)} KB.`);
  showNotice('Uploading…');
  const response = await fetch(api('/attachments'), {
    method: 'POST',
    headers: { 'content-type': file.type, 'x-file-name': encodeURIComponent(file.name), 'x-hub-hello': encodeURIComponent(JSON.stringify(hello())) },
    body: file,
  }).catch(() => undefined);
  const body = (await response?.json().catch(() => ({}))) as { id?: string; error?: string };
  if (!response?.ok || !body.id) return showNotice(body.error ?? 'The upload failed; please try again.');
  showNotice(undefined);
  enqueue({ id: newId(), attachments: [body.id], ...(file.type.startsWith('image/') ? { previews: [URL.createObjectURL(file)] } : {}) });
}

function toggle(open: boolean) {
  panel.toggleAttribute('hidden', !open);
  launcher.toggleAttribute('hidden', open);
  if (open) {
    render();
    input.focus();
  }
}

launcher.addEventListener('click', () => toggle(true));
closeButton.addEventListener('click', () => toggle(false));
sendButton.addEventListener('click', sendText);
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendText();
  }
});
input.addEventListener('input', () => {
  const now = Date.now();
  if (!input.value.trim() || now - state.lastTypingSent < typingEveryMs) return;
  if (transmit({ type: 'typing' })) state.lastTypingSent = now;
});
emojiButton.addEventListener('click', () => emojiPanel.toggleAttribute('hidden'));
emojiPanel.addEventListener('click', (event) => {
  const target = event.target as HTMLElement;
  if (target.tagName !== 'BUTTON') return;
  input.value += target.textContent ?? '';
  emojiPanel.setAttribute('hidden', '');
  input.focus();
});
attachButton.addEventListener('click', () => fileInput.click());
fileInput.addEventListener('change', () => {
  const file = fileInput.files?.[0];
  fileInput.value = '';
  if (file) void sendFile(file);
});
offlineForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const data = new FormData(offlineForm);
  const field = (name: string) => String(data.get(name) ?? '').trim() || undefined;
  const text = field('text');
  if (!text) return;
  if (!field('email') && !field('phone')) return showNotice('Please leave an email address or a phone number.');
  enqueue({ id: newId(), text, contact: clean({ name: field('name'), email: field('email'), phone: field('phone') }) });
  offlineForm.setAttribute('hidden', '');
  composer.removeAttribute('hidden');
  showNotice('Thank you. We will get back to you.');
});
// A socket often outlives the network silently (a phone switching cells): drop it at once and
// build a new one when the network is back, rather than wait for TCP to notice.
window.addEventListener('offline', () => state.socket?.close());
window.addEventListener('online', () => {
  state.failures = 0;
  connect();
});
document.addEventListener('visibilitychange', reportRead);

function mount() {
  document.body.append(host);
  render();
  connect();
}
if (document.body) mount();
else document.addEventListener('DOMContentLoaded', mount);
