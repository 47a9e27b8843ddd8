import assert from 'node:assert/strict';
import { CardFactory, MessageFactory, TestAdapter, type Activity, type TurnContext } from 'botbuilder';
import { OneMessagePerTurn } from '../src/middleware/oneMessagePerTurn.js';
import { startAssistant, type RunningAssistant } from './support/testAssistant.js';
import { answerProfile, buttons, visibleText, type ChannelActivity } from './support/standInChannel.js';

const card = (title: string, filler = '') =>
  CardFactory.adaptiveCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: title }, { type: 'TextBlock', text: filler }] });

/** What the channel receives when the bot sends `replies` in one turn. */
async function sent(send: (context: TurnContext) => Promise<void>): Promise<Array<Partial<Activity>>> {
  const adapter = new TestAdapter(send);
  adapter.use(new OneMessagePerTurn());
  await adapter.send('hi');
  return adapter.activeQueue.splice(0);
}

const cardTitles = (a: Partial<Activity>) => (a.attachments ?? []).map((x) => (x.content as { body: Array<{ text: string }> }).body[0]!.text);

describe('replies: one message per turn', () => {
  it('sends texts and the cards that follow them as one message, text on top and cards in order', async () => {
    const out = await sent(async (c) => {
      await c.sendActivity('✓ Step one is done.');
      await c.sendActivity(MessageFactory.attachment(card('Answer')));
      await c.sendActivity(MessageFactory.attachment(card('Step two')));
    });
    assert.equal(out.length, 1);
    assert.equal(out[0]!.text, '✓ Step one is done.');
    assert.deepEqual(cardTitles(out[0]!), ['Answer', 'Step two']);
    assert.equal(out[0]!.attachmentLayout, 'list');
  });

  it('keeps a text that comes after a card as its own message, so it still reads after the card', async () => {
    const out = await sent(async (c) => {
      await c.sendActivity(MessageFactory.attachment(card('Answer')));
      await c.sendActivity('Thanks for the feedback!');
    });
    assert.deepEqual(
      out.map((a) => a.text ?? cardTitles(a).join()),
      ['Answer', 'Thanks for the feedback!']
    );
  });

  it('passes anything but plain text and cards through in order, untouched', async () => {
    const out = await sent(async (c) => {
      await c.sendActivity('First');
      await c.sendActivity({ type: 'message', text: 'Pick one', suggestedActions: { to: [], actions: [{ type: 'imBack', title: 'A', value: 'A' }] } });
      await c.sendActivity({ type: 'typing' });
      await c.sendActivity('Last');
    });
    assert.deepEqual(
      out.map((a) => `${a.type}:${a.text ?? ''}`),
      ['message:First', 'message:Pick one', 'typing:', 'message:Last']
    );
    assert.equal(out[1]!.suggestedActions?.actions.length, 1);
  });

  it('starts a new message rather than grow one past what Teams accepts', async () => {
    const big = 'x'.repeat(9000);
    const out = await sent(async (c) => {
      for (let i = 0; i < 4; i++) await c.sendActivity(MessageFactory.attachment(card(`Card ${i}`, big)));
    });
    assert.ok(out.length >= 2);
    for (const a of out) assert.ok(JSON.stringify(a.attachments).length < 28_000);
    assert.deepEqual(out.flatMap(cardTitles), ['Card 0', 'Card 1', 'Card 2', 'Card 3']);
  });

  it('still sends what was said when the turn fails half way', async () => {
    const adapter = new TestAdapter(async (c) => {
      await c.sendActivity('Before the failure');
      throw new Error('boom');
    });
    adapter.use(new OneMessagePerTurn());
    await assert.rejects(async () => {
      await adapter.send('hi');
    }, /boom/);
    assert.deepEqual(adapter.activeQueue.map((a) => a.text), ['Before the failure']);
  });
});

describe('replies: one message per turn, through the channel', () => {
  let bot: RunningAssistant;
  before(async () => {
    bot = await startAssistant();
  });
  after(async () => {
    await bot.cleanup();
  });

  const cardsOf = (replies: ChannelActivity[]) => replies.flatMap((r) => r.attachments ?? []);

  it('a question asked during a step gets one message: the answer, then the same step card', async () => {
    const c = bot.conversation();
    await c.say('start');
    const step = await answerProfile((data) => c.click(data), { resident: true, broker: true, rm: true });
    assert.equal(step.length, 1, 'the plan, the phase intro and the first step come as one message');
    const replies = await c.say('how much security do I need to post?');
    assert.equal(replies.length, 1);
    const [answer, again] = cardsOf(replies);
    assert.match(JSON.stringify(answer!.content), /How much security do I need/);
    assert.equal(again!.content.body[1].text, cardsOf(step).at(-1)!.content.body[1].text);
  });

  it('an invalid value gets its explanation and the step\'s buttons, not the step card again', async () => {
    const c = bot.conversation();
    await c.say('start');
    await answerProfile((data) => c.click(data), { resident: true, broker: true, rm: true });
    await c.click({ action: 'step', stepId: 'choose-business-account-manager', choice: 'done' });
    const bnStep = await c.click({ action: 'step', stepId: 'choose-sign-in-option', choice: 'done', value: 'gckey' });
    assert.match(cardsOf(bnStep).at(-1)!.content.body[1].text, /business number/i);
    const wrong = await c.say('123456789');
    assert.equal(wrong.length, 1);
    assert.match(visibleText(wrong), /doesn't pass the BN9 check digit/);
    assert.doesNotMatch(visibleText(wrong), /Have your CRA business number/i, 'not the step card again');
    assert.doesNotMatch(visibleText(wrong), /Please choose/, 'no generic retry hint on top of the explanation');
    assert.deepEqual(buttons(wrong).map((b) => b.title), ['Done', 'Not yet, remind me later', 'Tell me more', 'Skip']);
  });
});
