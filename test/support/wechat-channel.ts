import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { startFakeWechatApi, type FakeWechatApi } from '../../adapters/wechat/fake-wechat-api.js';
import { deliverPush, plaintextPush } from '../../adapters/wechat/fake-wechat-push.js';
import { waitFor, type TestHub } from './test-hub.js';

const account = { appId: 'wx0a1b2c3d4e5f6a7b', appSecret: '9d8c7b6a5f4e3d2c1b0a998877665544', token: 'WorkspaceToken' };

/** A WeChat Official Account channel talking to a fake WeChat API, with one approved template. */
export async function startWechatChannel(hub: TestHub, name = 'WeChat service account') {
  const api: FakeWechatApi = await startFakeWechatApi(account);
  const { status, body } = await hub.api('POST', '/api/v1/channels', {
    type: 'wechat',
    name,
    config: {
      ...account,
      apiBaseUrl: api.baseUrl,
      templates: { 'card-blocked': { templateId: 'TM00015-card-blocked', variables: ['first', 'keyword1', 'remark'] } },
    },
  });
  if (status !== 201) throw new Error(`WeChat channel creation failed: ${status} ${JSON.stringify(body)}`);
  const channelId = body.id as string;

  return {
    api,
    channelId,
    /** A customer writes to the account as WeChat pushes it; resolves to the conversation it landed in. */
    async customerWrites(openid: string, text: string): Promise<string> {
      const push = plaintextPush(account, {
        ToUserName: 'gh_3a5d2f1c8e77',
        FromUserName: openid,
        CreateTime: Math.floor(Date.now() / 1000),
        MsgType: 'text',
        Content: text,
        MsgId: String(7_400_000_000_000_000_000n + BigInt(randomBytes(4).readUInt32BE())),
      });
      const answer = await deliverPush(`${hub.baseUrl}/webhooks/wechat/${channelId}`, push);
      if (answer.body !== 'success') throw new Error(`push refused: ${answer.status} ${answer.body}`);
      return waitFor(async () => {
        const rows = await hub.runtime.database.query<{ conversation_id: string }>(
          sql`select m.conversation_id from messages m join contact_identities i on i.id = m.identity_id
              where i.kind = 'wechat_openid' and i.value = ${openid} and m.text = ${text}`,
        );
        return rows[0]?.conversation_id;
      }, 10_000, 'WeChat conversation');
    },
    /** Moves the customer's messages on this channel back in time, as if they wrote that long ago. */
    async ageCustomerMessages(conversationId: string, hours: number) {
      await hub.runtime.database.query(
        sql`update messages set created_at = created_at - make_interval(hours => ${hours})
            where conversation_id = ${conversationId} and channel_id = ${channelId} and direction = 'inbound'`,
      );
    },
    close: () => api.close(),
  };
}
