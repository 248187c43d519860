import type { ChannelAdapter } from '../../core/channels/contract.js';
import { fetchFreshToken, WechatApiError } from './wechat-api.js';
import { normalizeWechatEvent, verifyWechatRequest } from './wechat-inbound.js';
import { canReachWechat, sendWechatMessage, SERVICE_WINDOW_MS } from './wechat-outbound.js';
import { wechatChannelConfig, wechatSecretFields, type WechatChannelConfig } from './wechat.config.js';

/**
 * A WeChat Official Account (公众号): customers' messages and menu events arrive as signed (and,
 * in safe mode, encrypted) XML; replies go out as customer-service messages within 48 hours of
 * the customer's last interaction, and as template messages otherwise.
 */
export const wechatAdapter: ChannelAdapter<WechatChannelConfig> = {
  type: 'wechat',
  displayName: 'WeChat Official Account',
  configSchema: wechatChannelConfig,
  secretFields: wechatSecretFields,
  reachableKinds: ['wechat_openid'],
  outboundTargets: (config) => [{ field: 'apiBaseUrl', target: config.apiBaseUrl }],
  verifyInbound: async (request, channel) => verifyWechatRequest(request, channel),
  normalize: normalizeWechatEvent,
  send: sendWechatMessage,
  canReachNow: canReachWechat,
  replyWindowMs: SERVICE_WINDOW_MS,
  listTemplates: (config) => Object.entries(config.templates).map(([name, template]) => ({ name, variables: template.variables })),

  async testConnection(channel) {
    try {
      await fetchFreshToken(channel);
      return { ok: true, message: 'fetched an access_token with this AppID and AppSecret' };
    } catch (error) {
      const hint = error instanceof WechatApiError && error.errcode === 40164 ? ' (add the hub\'s outgoing IP address to the account\'s IP allow list)' : '';
      return { ok: false, message: `${(error as Error).message}${hint}` };
    }
  },
};
