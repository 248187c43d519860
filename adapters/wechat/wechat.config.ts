import { z } from 'zod';

const encodingAesKey = z.string().regex(/^[A-Za-z0-9+/]{43}$/, 'an EncodingAESKey is 43 letters and digits, as the admin console shows it');

/** A template approved in the Official Account's console, under the name agents pick it by. */
const template = z.object({
  /** The template id WeChat assigned (模板ID). */
  templateId: z.string().trim().min(1),
  /** The template's placeholders ({{first.DATA}} → `first`); every send must fill each one. */
  variables: z.array(z.string().regex(/^[A-Za-z0-9_]+$/, 'a variable is a placeholder name such as keyword1')).default([]),
  /** Where tapping the message leads, unless the send names another URL. */
  url: z.url({ protocol: /^https?$/ }).optional(),
});

export const wechatChannelConfig = z.object({
  appId: z.string().regex(/^wx[0-9A-Za-z]{16}$/, 'an AppID looks like wx followed by 16 letters and digits'),
  appSecret: z.string().min(16, 'the AppSecret is 32 characters'),
  /** The server-configuration Token (令牌) WeChat signs every request with. */
  token: z.string().regex(/^[A-Za-z0-9]{3,32}$/, 'the Token is 3 to 32 letters and digits'),
  /** Absent: plaintext mode. Present: compatible or safe mode. */
  encodingAESKey: encodingAesKey.optional(),
  /** The key replaced in the last change, still accepted while WeChat may use it. */
  previousEncodingAESKey: encodingAesKey.optional(),
  apiBaseUrl: z.url({ protocol: /^https?$/ }).default('https://api.weixin.qq.com'),
  templates: z.record(z.string().min(1), template).default({}),
});
export type WechatChannelConfig = z.infer<typeof wechatChannelConfig>;

export const wechatSecretFields = ['appSecret', 'token', 'encodingAESKey', 'previousEncodingAESKey'] as const;
