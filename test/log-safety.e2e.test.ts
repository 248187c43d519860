import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

/**
 * Logs carry ids, never what customers wrote: a conversation full of card and ID numbers, at
 * debug level, with queries failing on the way, leaves no card number and no ID number in the
 * log. The check below is written independently of the hub's own masking.
 */
const card = '6222021234567894';
const idNumber = '110105199003071239';

function luhn(digits: string): boolean {
  let sum = 0;
  [...digits].reverse().forEach((c, i) => {
    let d = Number(c);
    if (i % 2) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  });
  return sum % 10 === 0;
}

function residentId(value: string): boolean {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((s, w, i) => s + w * Number(value[i]), 0);
  return '10X98765432'[sum % 11] === value[17]!.toUpperCase();
}

/** Every Luhn-valid run of 13 to 19 digits (spaces or dashes between them allowed), and every valid resident ID number, in `text`. */
function sensitiveNumbersIn(text: string): string[] {
  const cards = (text.match(/\d(?:[ -]?\d){12,18}/g) ?? []).map((m) => m.replace(/[ -]/g, '')).filter(luhn);
  const ids = (text.match(/\d{17}[\dXx]/g) ?? []).filter(residentId);
  return [...cards, ...ids];
}

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let log = '';

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      log += chunk.toString('utf8');
      done();
    },
  });
  hub = await startTestHub({ overrides: { LOG_LEVEL: 'debug', INBOUND_MAX_ATTEMPTS: '2' }, logDestination: destination });
  callback = await startCallbackServer();
  // Forces failing queries that carry the customer's words: the statement's parameters hold them,
  // and the database's own message quotes them.
  await hub.runtime.database.query(sql`
    create function refuse_marked_messages() returns trigger language plpgsql as $$
    begin
      if new.text like '%FAIL-NOW%' then raise exception 'message refused: "%"', new.text; end if;
      return new;
    end $$`);
  await hub.runtime.database.query(sql`create trigger refuse_marked before insert on messages for each row execute function refuse_marked_messages()`);
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

describe('the log at debug level', () => {
  it('never holds a card number or a resident ID number, whatever fails', async () => {
    expect(luhn(card) && residentId(idNumber)).toBe(true);
    const channel = await hub.createApiChannel(callback.url);
    const customer = { kind: 'phone', value: '13800138000', name: '王小明' };

    // A customer writes both numbers; the message is stored and reaches the console.
    const inbound = await hub.postSigned(channel.id, channel.secret, { messageId: 'log-1', from: customer, text: `我的卡号 ${card}，身份证 ${idNumber}` });
    expect(inbound.status).toBe(200);
    const conversation = await waitFor(async () => (await hub.api('GET', '/api/v1/conversations?view=all')).body.items[0]);

    // An agent answers quoting them; the callback receives it.
    const reply = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: `已核实卡号 ${card} 与身份证 ${idNumber}` });
    expect(reply.status).toBe(202);
    await waitFor(async () => callback.received.length >= 1);

    // An agent reply whose insert fails: a 500, logged by the HTTP layer.
    const failedReply = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: `FAIL-NOW ${card} ${idNumber}` });
    expect(failedReply.status).toBe(500);

    // A customer message whose processing fails until it is dead-lettered: logged by the worker.
    await hub.postSigned(channel.id, channel.secret, { messageId: 'log-2', from: customer, text: `FAIL-NOW 卡号 ${card} 身份证 ${idNumber}` });
    const dead = await waitFor(
      async () => {
        const [row] = await hub.runtime.database.query<{ status: string; error: string }>(sql`select status, error from inbound_events where dedupe_key = 'log-2'`);
        return row?.status === 'dead' ? row : undefined;
      },
      20_000,
      'the failing event to be dead-lettered',
    );
    await waitFor(async () => log.includes('inbound event dead-lettered'));

    if (process.env.LOG_SAFETY_DUMP) (await import('node:fs')).writeFileSync(process.env.LOG_SAFETY_DUMP, log);
    // The failures were logged, as statements and parameter counts.
    expect(log).toMatch(/"msg":"request failed"/);
    expect(log).toMatch(/"parameterCount":\d+/);
    expect(log).toContain('"type":"DrizzleQueryError"');
    expect(log).toContain('"statement":"');
    expect(log).toMatch(/statement: select \* from hub_append_inbound_message/);
    expect(log).toContain('message refused');
    // Neither number in any form, nor the customer's words or phone number.
    // (pino's own `time`, milliseconds since 1970, is thirteen digits and sometimes passes Luhn.)
    expect(sensitiveNumbersIn(log.replace(/"time":\d+/g, '"time":0'))).toEqual([]);
    expect(log).not.toContain(card);
    expect(log).not.toContain(idNumber);
    expect(log).not.toContain('身份证');
    expect(log).not.toContain('13800138000');
    // The error an admin sees on the dead-lettered event is as clean.
    expect(dead.error).toMatch(/query failed/);
    expect(sensitiveNumbersIn(dead.error)).toEqual([]);
    expect(dead.error).not.toContain('FAIL-NOW 卡号');
  });
});
