import { contextFieldOf, evaluationContextOf, unleashContextOfQuery } from '../../../src/routes/unleash/context.js';
import { DISABLED, servedKey, servedOf } from '../../../src/routes/unleash/served.js';

describe('Unleash context ↔ latchkey attributes', () => {
  it('names each latchkey attribute by the Unleash field that carries it', () => {
    expect(['targeting_key', 'userId', 'sessionId', 'remoteAddress', 'plan', 'user.country', 'properties'].map(contextFieldOf)).toEqual([
      'userId',
      'userId',
      'sessionId',
      'remoteAddress',
      'plan',
      undefined,
      undefined,
    ]);
  });

  it('maps an Unleash context to attributes: userId is targeting_key, properties are attributes, standard fields win', () => {
    expect(
      evaluationContextOf({
        appName: 'web',
        environment: 'default',
        userId: 'u-1',
        sessionId: '',
        extra: 'top-level',
        properties: { plan: 'pro', seats: 12, beta: true, sessionId: 'from-props', targeting_key: 'ignored', tags: ['a'], nested: { a: 1 }, gone: null, extra: 'from-props' },
      }),
    ).toEqual({ appName: 'web', environment: 'default', userId: 'u-1', targeting_key: 'u-1', sessionId: 'from-props', plan: 'pro', seats: 12, beta: true, extra: 'from-props' });
  });

  it('takes userId from the properties when the field is absent, and remoteAddress from the connection', () => {
    expect(evaluationContextOf({ properties: { userId: 'p-1' } }, '203.0.113.9')).toEqual({ userId: 'p-1', targeting_key: 'p-1', remoteAddress: '203.0.113.9' });
    expect(evaluationContextOf({ remoteAddress: '10.0.0.1' }, '203.0.113.9')).toEqual({ remoteAddress: '10.0.0.1' });
  });

  it('keeps __proto__ an ordinary key', () => {
    const ctx = evaluationContextOf(JSON.parse('{"properties":{"__proto__":"x"}}'));
    expect(Object.keys(ctx)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(ctx)).toBe(Object.prototype);
  });

  it('reads the query unleash-proxy-client writes, and never the publishableKey', () => {
    const q = new URLSearchParams('appName=web&environment=default&sessionId=42&userId=u-1&userId=u-2&properties[plan]=pro&properties[a[b]]=c&publishableKey=pub_x');
    expect(unleashContextOfQuery(q)).toEqual({ appName: 'web', environment: 'default', sessionId: '42', userId: 'u-1', properties: { plan: 'pro', 'a[b]': 'c' } });
  });
});

describe('latchkey values as Unleash answers', () => {
  it('BOOLEAN true is enabled with the variant name, false is disabled; other kinds carry payloads', () => {
    expect([servedOf('on', true), servedOf('off', false), servedOf('fast', 'fast'), servedOf('n', 25.5), servedOf('cfg', { a: [1] })]).toEqual([
      { enabled: true, variant: 'on' },
      DISABLED,
      { enabled: true, variant: 'fast', payload: { type: 'string', value: 'fast' } },
      { enabled: true, variant: 'n', payload: { type: 'number', value: '25.5' } },
      { enabled: true, variant: 'cfg', payload: { type: 'json', value: '{"a":[1]}' } },
    ]);
    expect(servedKey(servedOf('a', 'x')) === servedKey(servedOf('b', 'x'))).toBe(false);
  });
});
