import assert from 'node:assert/strict';
import type { TurnContext } from 'botbuilder';
import { DuplicateActivityFilter } from '../src/middleware/turnOrdering.js';

describe('DuplicateActivityFilter', () => {
  let clock = 0;
  const handled: string[] = [];
  const deliver = (filter: DuplicateActivityFilter, id: string, conversation = 'c1') =>
    filter.onTurn({ activity: { id, channelId: 'msteams', conversation: { id: conversation } } } as unknown as TurnContext, async () => {
      handled.push(`${conversation}/${id}`);
    });
  beforeEach(() => {
    clock = 0;
    handled.length = 0;
  });

  it('drops a retried activity within the TTL, in its own conversation only, and takes it again after', async () => {
    const filter = new DuplicateActivityFilter(15_000, 1000, () => clock);
    await deliver(filter, 'a');
    clock = 14_999; // Teams retries after about 15 s
    await deliver(filter, 'a');
    await deliver(filter, 'a', 'c2'); // the same id in another conversation is another activity
    assert.deepEqual(handled, ['c1/a', 'c2/a']);
    clock = 15_001; // older than the TTL: a new delivery, taken again
    await deliver(filter, 'a');
    assert.deepEqual(handled, ['c1/a', 'c2/a', 'c1/a']);
  });

  it('stays within its bound under a flood of new ids, and still drops recent replays', async () => {
    const filter = new DuplicateActivityFilter(10 * 60_000, 1000, () => clock);
    for (let i = 0; i < 10_000; i++) await deliver(filter, `flood-${i}`);
    assert.ok(filter.size <= 1000, `${filter.size} ids kept`);
    for (let i = 9_600; i < 10_000; i++) await deliver(filter, `flood-${i}`);
    assert.equal(handled.length, 10_000, 'the last 400 ids are still known');
  });
});
