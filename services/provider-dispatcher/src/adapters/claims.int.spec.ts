import { MongoClient } from 'mongodb';
import { stack, uniq } from '../../../../test/support';
import { ClaimStore } from './claims';

describe('ClaimStore on the MongoDB-compatible database', () => {
  let client: MongoClient; let store: ClaimStore; const dbName = uniq('it_claims_');
  beforeAll(async () => { client = await MongoClient.connect(stack.mongoUrl); store = new ClaimStore(client.db(dbName)); });
  afterAll(async () => { await client.db(dbName).dropDatabase(); await client.close(); });

  it('lets exactly one of many concurrent dispatchers claim a notification', async () => {
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.acquire('n-race', 'meta', new Date())));
    expect(outcomes.filter((o) => o.acquired)).toHaveLength(1);
  });

  it('retakes only a claim waiting for a retry, counting attempts', async () => {
    const first = await store.acquire('n-retry', 'meta', new Date());
    expect(first).toMatchObject({ acquired: true, claim: { attempts: 1, state: 'sending' } });
    expect(await store.acquire('n-retry', 'meta', new Date())).toMatchObject({ acquired: false, claim: { state: 'sending' } });
    await store.settle('n-retry', { state: 'retry_wait', errorCode: 'meta:1' }, new Date());
    expect(await store.acquire('n-retry', 'meta', new Date())).toMatchObject({ acquired: true, claim: { attempts: 2, state: 'sending' } });
    await store.settle('n-retry', { state: 'accepted', providerMessageId: 'wamid.1' }, new Date());
    expect(await store.acquire('n-retry', 'meta', new Date())).toMatchObject({ acquired: false, claim: { state: 'accepted', providerMessageId: 'wamid.1' } });
    // settling an already settled claim changes nothing
    await store.settle('n-retry', { state: 'failed' }, new Date());
    expect((await store.col.findOne({ _id: 'n-retry' }))!.state).toBe('accepted');
  });
});
