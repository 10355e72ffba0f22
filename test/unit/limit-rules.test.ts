import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig, serveSchema } from '../../src/config.js';
import { apiFamily, nonceTtlMs, parseRateRules, RateRuleError, ruleFor } from '../../src/limits/rules.js';

describe('rate limit rules', () => {
  it('is off by default and for "off"', () => {
    assert.equal(parseRateRules('off'), undefined);
    assert.equal(parseRateRules(''), undefined);
    assert.equal(parseConfig(serveSchema, {}).rateLimit, undefined);
    assert.equal(parseConfig(serveSchema, {}).replayProtection, false);
  });

  it('has the cloud preset: 100 calls/s per app on the account API, 10 s block', () => {
    const rules = parseRateRules('cloud')!;
    assert.deepEqual(ruleFor(rules, 'anyapp', 'user'), { calls: 100, windowMs: 1000, blockMs: 10_000 });
    assert.equal(ruleFor(rules, 'anyapp', 'msg'), undefined);
  });

  it('parses family, per-app and wildcard rules; the most specific wins', () => {
    const rules = parseRateRules('cloud, msg=50/2, *=1000, app1/user=5:30, app2/*=7')!;
    assert.deepEqual(ruleFor(rules, 'x', 'msg'), { calls: 50, windowMs: 2000, blockMs: 0 });
    assert.deepEqual(ruleFor(rules, 'x', 'team'), { calls: 1000, windowMs: 1000, blockMs: 0 });
    assert.deepEqual(ruleFor(rules, 'app1', 'user'), { calls: 5, windowMs: 1000, blockMs: 30_000 });
    assert.deepEqual(ruleFor(rules, 'app1', 'msg'), { calls: 50, windowMs: 2000, blockMs: 0 });
    assert.deepEqual(ruleFor(rules, 'app2', 'user'), { calls: 7, windowMs: 1000, blockMs: 0 });
  });

  it('refuses malformed rules with a one-line message', () => {
    for (const bad of ['user', 'user=', 'user=x', 'user=0', 'user=5/0', 'a b=1', 'user=1:x'])
      assert.throws(() => parseRateRules(bad), RateRuleError, bad);
    assert.throws(() => parseConfig(serveSchema, { rateLimit: 'user=abc' }), /rate limit rule "user=abc"/);
    assert.throws(() => parseConfig(serveSchema, { replayProtection: 'yes' }), /off or on/);
  });
});

describe('apiFamily', () => {
  it('names v1 and v2 families; v2 accounts count as the account API', () => {
    assert.equal(apiFamily('/nimserver/user/create.action'), 'user');
    assert.equal(apiFamily('/nimserver/msg/sendMsg.action?x=1'), 'msg');
    assert.equal(apiFamily('/im/v2/accounts'), 'user');
    assert.equal(apiFamily('/nimserver/im/v2.1/accounts/abc'), 'user');
    assert.equal(apiFamily('/im/v2/teams/1'), 'teams');
    assert.equal(apiFamily('/weird'), 'other');
  });

  it('remembers a Nonce for twice the CurTime window', () => {
    assert.equal(nonceTtlMs(300), 600_000);
    assert.equal(nonceTtlMs(0), 1000);
  });
});
