import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRuleInput, evaluateRules, ruleConditions, type EvaluatedRule, type RoutingContext } from './routing-rules.js';

const context = (over: Partial<RoutingContext> = {}): RoutingContext => ({
  channelType: 'wechat',
  language: 'zh',
  tier: null,
  attributes: {},
  firstMessage: '你好',
  now: new Date('2026-11-23T02:00:00Z'), // Monday 10:00 in Shanghai
  ...over,
});

const rule = (id: string, conditions: unknown, actions: unknown = { priority: 2 }): EvaluatedRule => ({
  id,
  conditions: ruleConditions.parse(conditions),
  actions: actions as EvaluatedRule['actions'],
});

describe('routing rules', () => {
  it('takes the first rule, in order, whose every condition holds', () => {
    const rules = [
      rule('sms-only', { channelTypes: ['sms'] }),
      rule('vip-en', { tiers: ['vip'], languages: ['en'] }),
      rule('vip', { tiers: ['vip'] }),
      rule('fallback', {}),
    ];
    expect(evaluateRules(rules, context({ tier: 'vip' }))?.id).toBe('vip');
    expect(evaluateRules(rules, context({ tier: 'vip', language: 'en' }))?.id).toBe('vip-en');
    expect(evaluateRules(rules, context({ channelType: 'sms', tier: 'vip' }))?.id).toBe('sms-only');
    expect(evaluateRules(rules, context())?.id).toBe('fallback');
    expect(evaluateRules(rules.slice(0, 3), context())).toBeUndefined();
  });

  it('matches keywords of the first message case-insensitively, and contact attributes exactly', () => {
    const fraud = rule('fraud', { keywords: ['盗刷', 'Stolen'] });
    expect(evaluateRules([fraud], context({ firstMessage: '我的卡被盗刷了' }))?.id).toBe('fraud');
    expect(evaluateRules([fraud], context({ firstMessage: 'my card was STOLEN' }))?.id).toBe('fraud');
    expect(evaluateRules([fraud], context({ firstMessage: null }))).toBeUndefined();
    const segment = rule('private', { attributes: { segment: 'private_banking', kyc: true } });
    expect(evaluateRules([segment], context({ attributes: { segment: 'private_banking', kyc: true } }))?.id).toBe('private');
    expect(evaluateRules([segment], context({ attributes: { segment: 'private_banking', kyc: 'true' } }))).toBeUndefined();
  });

  it('reads time of day in the rule’s time zone, with windows across midnight and weekdays', () => {
    const office = rule('office', { timeOfDay: { from: '09:00', to: '18:00', days: [1, 2, 3, 4, 5] } });
    const night = rule('night', { timeOfDay: { from: '22:00', to: '06:00', timezone: 'Asia/Hong_Kong', days: [5] } });
    expect(evaluateRules([office], context())?.id).toBe('office');
    expect(evaluateRules([office], context({ now: new Date('2026-11-22T02:00:00Z') }))).toBeUndefined(); // Sunday
    expect(evaluateRules([office], context({ now: new Date('2026-11-23T10:00:00Z') }))).toBeUndefined(); // 18:00 Monday
    // Friday 23:00 and Saturday 02:00 in Hong Kong both belong to Friday night.
    expect(evaluateRules([night], context({ now: new Date('2026-11-27T15:00:00Z') }))?.id).toBe('night');
    expect(evaluateRules([night], context({ now: new Date('2026-11-27T18:00:00Z') }))?.id).toBe('night');
    expect(evaluateRules([night], context({ now: new Date('2026-11-28T18:00:00Z') }))).toBeUndefined(); // Saturday night
  });

  it('a rule without conditions matches any context, and an earlier one always wins', () => {
    fc.assert(
      fc.property(
        fc.record({
          channelType: fc.option(fc.constantFrom('wechat', 'sms', 'email')),
          language: fc.option(fc.constantFrom('zh', 'en')),
          tier: fc.option(fc.constantFrom('vip', 'standard')),
          firstMessage: fc.option(fc.string()),
          now: fc.date({ noInvalidDate: true }),
        }),
        fc.integer({ min: 0, max: 5 }),
        (ctx, position) => {
          const rules = Array.from({ length: 6 }, (_, i) => rule(`r${i}`, i < position ? { tiers: ['nobody'] } : {}));
          expect(evaluateRules(rules, { ...ctx, attributes: {} })?.id).toBe(`r${position}`);
        },
      ),
    );
  });

  it('refuses malformed rules with a message naming the field', () => {
    const result = createRuleInput.safeParse({ name: 'x', conditions: { timeOfDay: { from: '9:00', to: '18:00', timezone: 'Mars/Base' } }, actions: {} });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['conditions.timeOfDay.from', 'actions']));
  });
});
