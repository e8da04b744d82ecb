// Sends a scripted session through the real @segment/analytics-node client to a Chuda server.
// Usage: node segment-client.mjs <host> <writeKey>
import { Analytics } from '@segment/analytics-node';

const [host, writeKey] = process.argv.slice(2);
if (!host || !writeKey) {
  console.error('usage: node segment-client.mjs <host> <writeKey>');
  process.exit(2);
}

const analytics = new Analytics({ writeKey, host, path: '/v1/batch', flushAt: 3, flushInterval: 200, maxRetries: 2 });
const failures = [];
analytics.on('error', (err) => failures.push(String(err?.reason ?? err?.message ?? err)));

analytics.page({ anonymousId: 'seg-anon-1', name: 'Pricing', properties: { path: '/pricing' } });
analytics.track({ anonymousId: 'seg-anon-1', event: 'Added to Cart', properties: { cart_id: 'cart-9', price: 199 } });
analytics.identify({
  userId: 'seg-user-1',
  anonymousId: 'seg-anon-1',
  traits: { email: 'Seg.User@Example.com', name: '韩梅梅', plan: 'trial' },
  context: { timezone: 'Asia/Shanghai', locale: 'zh-CN' },
});
analytics.track({ userId: 'seg-user-1', event: 'Order Completed', properties: { cart_id: 'cart-9', revenue: 199 } });
analytics.screen({ userId: 'seg-user-1', name: 'Home' });
analytics.alias({ userId: 'seg-user-1', previousId: 'legacy-crm-42' });
analytics.group({ userId: 'seg-user-1', groupId: 'acme', traits: { name: 'Acme' } });

await analytics.closeAndFlush({ timeout: 20000 });
if (failures.length > 0) {
  console.error('delivery failures: ' + failures.join('; '));
  process.exit(1);
}
console.log('flushed');
