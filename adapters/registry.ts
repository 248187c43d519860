import type { AdapterRegistry } from '../core/channels/contract.js';
import { apiAdapter } from './api/api.adapter.js';
import { smsTwilioAdapter } from './sms-twilio/sms-twilio.adapter.js';
import { wechatAdapter } from './wechat/wechat.adapter.js';
import { appPushAdapter } from './app-push/app-push.adapter.js';
import { webchatAdapter } from './webchat/webchat.adapter.js';
import { emailAdapter } from './email/email.adapter.js';

/** Every channel type's adapter; a type in the union without an entry here fails to compile. */
export const adapters: AdapterRegistry = {
  api: { ...apiAdapter, type: 'api' },
  sms_twilio: { ...smsTwilioAdapter, type: 'sms_twilio' },
  wechat: { ...wechatAdapter, type: 'wechat' },
  app: { ...appPushAdapter, type: 'app' },
  webchat: { ...webchatAdapter, type: 'webchat' },
  email: { ...emailAdapter, type: 'email' },
};
