import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startAssistant, type RunningAssistant } from './support/testAssistant.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(new URL('../../test-artifacts/', import.meta.url).pathname);
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WAIT_MS = 30_000;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** The page, seen as a person sees it: the transcript's text and the cards in it. */
class ChatPage {
  constructor(readonly page: Page) {}

  get cards(): Locator {
    return this.page.locator('#webchat .ac-adaptiveCard');
  }

  get sendBox(): Locator {
    return this.page.locator('[data-id="webchat-sendbox-input"]');
  }

  async transcriptText(): Promise<string> {
    return this.page.locator('#webchat').innerText();
  }

  /** Waits until the transcript shows text matching `pattern`. */
  async waitForText(pattern: RegExp): Promise<void> {
    await this.page.waitForFunction(
      ([source, flags]) => new RegExp(source!, flags).test((document.querySelector('#webchat') as HTMLElement | null)?.innerText ?? ''),
      [pattern.source, pattern.flags],
      { timeout: WAIT_MS }
    );
  }

  /** Waits for a new card (beyond the `after` first ones) whose text matches, and returns it. */
  async waitForCard(pattern: RegExp, after: number): Promise<Locator> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const count = await this.cards.count();
      for (let i = count - 1; i >= after; i--) {
        const card = this.cards.nth(i);
        if (pattern.test(await card.innerText())) return card;
      }
      if (Date.now() > deadline) {
        throw new Error(`no new card matching ${pattern}; transcript ends with: ${(await this.transcriptText()).slice(-1500)}`);
      }
      await this.page.waitForTimeout(100);
    }
  }

  async say(text: string): Promise<number> {
    const before = await this.cards.count();
    await this.sendBox.fill(text);
    await this.sendBox.press('Enter');
    return before;
  }

  /** Clicks a button of a card and returns the card count before the bot's answer. */
  async click(card: Locator, name: string | RegExp): Promise<number> {
    const before = await this.cards.count();
    await card.getByRole('button', { name, exact: typeof name === 'string' }).click();
    return before;
  }

  async screenshot(name: string): Promise<void> {
    await this.page.waitForTimeout(400); // let Web Chat finish scrolling
    await this.page.screenshot({ path: join(ARTIFACTS, `webchat-${name}.png`) });
  }

  /** axe-core on the whole page; returns the serious and critical violations. */
  async accessibilityViolations(): Promise<AxeViolation[]> {
    // The page's Content-Security-Policy refuses inline scripts, so page.addScriptTag would be blocked;
    // code evaluated through the DevTools protocol is not subject to it.
    await this.page.evaluate(AXE_SOURCE);
    const violations = await this.page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
      return (await axe.run(document, { resultTypes: ['violations'] })).violations;
    });
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  }
}

function describeViolations(violations: AxeViolation[]): string {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`).join('\n');
}

describe('web chat in a real browser (Debian Chromium)', function () {
  this.timeout(240_000);
  let bot: RunningAssistant;
  let browser: Browser;
  const problems: string[] = [];

  before(async function () {
    assert.ok(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`);
    await mkdir(ARTIFACTS, { recursive: true });
    bot = await startAssistant();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
    });
  });

  after(async () => {
    await browser?.close();
    await bot?.cleanup();
  });

  it('has a whole conversation: welcome, a question and its card, a card button, two onboarding steps, progress after a reload, French', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: 'en-CA' });
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    const chat = new ChatPage(page);

    // 1. The welcome, from the bot's own Direct Line endpoint.
    await page.goto(bot.url);
    await chat.waitForText(/walk your business through registration/);
    assert.equal(await page.title(), 'CARM Onboarding Assistant');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await chat.waitForCard(/What would you like to do/, 0);
    await chat.screenshot('1-welcome');
    const welcomeViolations = await chat.accessibilityViolations();
    assert.deepEqual(welcomeViolations, [], describeViolations(welcomeViolations));

    // 2. A CARM question, answered with a card citing the official source.
    let before = await chat.say('do I need to register if I use a customs broker?');
    await chat.waitForText(/do I need to register if I use a customs broker\?/);
    const answer = await chat.waitForCard(/delegate authority/, before);
    assert.match(await answer.innerText(), /Official source/);
    await chat.screenshot('2-answer-card');

    // 3. A button on that card: a related question, answered with its own card.
    const related = answer.locator('.ac-pushButton').first();
    const relatedTitle = (await related.innerText()).trim();
    before = await chat.cards.count();
    await related.click();
    const relatedAnswer = await chat.waitForCard(new RegExp(escapeRegExp(relatedTitle).replace(/\\\?$/, '')), before);
    assert.match(await relatedAnswer.innerText(), /Official source/);

    // 4. Two onboarding steps: "start", the three profile questions by button, then Done twice.
    before = await chat.say('start');
    let card = await chat.waitForCard(/Is your business based in Canada\?/, before);
    before = await chat.click(card, 'Yes, in Canada');
    card = await chat.waitForCard(/Do you use a customs broker\?/, before);
    before = await chat.click(card, 'Yes, a broker');
    card = await chat.waitForCard(/import-export \(RM\) program account\?/, before);
    before = await chat.click(card, 'Yes, we have an RM account');
    card = await chat.waitForCard(/Step 1 of \d+/, before);
    before = await chat.click(card, 'Done');
    card = await chat.waitForCard(/Step 2 of \d+/, before);
    await card.getByRole('radio', { name: 'GCKey' }).check();
    before = await chat.click(card, 'Done');
    card = await chat.waitForCard(/Step 3 of \d+/, before);
    await chat.screenshot('3-onboarding');

    // 5. A reload is a new conversation for the same visitor: the bot knows where they are.
    await page.reload();
    await chat.waitForText(/Welcome back.*2 of \d+/s);
    await chat.screenshot('4-welcome-back');

    // 6. French, with the keyboard: the page, Web Chat and the bot all switch.
    const french = page.getByRole('banner').getByRole('button', { name: 'Français' });
    await french.focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.equal(await french.getAttribute('aria-pressed'), 'true');
    await chat.waitForText(/français/i);
    assert.equal(await chat.sendBox.getAttribute('placeholder'), 'Posez une question sur la GCRA, ou tapez « commencer »');
    before = await chat.say("Dois-je m'inscrire si je fais affaire avec un courtier en douane?");
    const frenchAnswer = await chat.waitForCard(/Source officielle/, before);
    assert.match(await frenchAnswer.innerText(), /courtier/i);
    await chat.screenshot('5-french');
    const frenchViolations = await chat.accessibilityViolations();
    assert.deepEqual(frenchViolations, [], describeViolations(frenchViolations));

    assert.deepEqual(problems, [], 'no script errors and no blocked requests (Content-Security-Policy)');
    await context.close();
  });

  it('is usable with the keyboard alone: skip link, language switch, then the chat input', async () => {
    const context = await browser.newContext({ viewport: { width: 420, height: 800 }, locale: 'fr-CA' });
    const page = await context.newPage();
    const chat = new ChatPage(page);
    await page.goto(bot.url);
    // A French browser gets the French page and a French welcome.
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    await chat.waitForText(/Bonjour|Bienvenue/);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip-link');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-language')), 'en');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-language')), 'fr');
    // The chat comes next in the focus order, and a question can be typed and sent.
    await chat.sendBox.focus();
    await page.keyboard.type('Qu’est-ce que la GCRA?');
    await page.keyboard.press('Enter');
    await chat.waitForText(/Source officielle/);
    await chat.screenshot('6-phone-french');
    const violations = await chat.accessibilityViolations();
    assert.deepEqual(violations, [], describeViolations(violations));
    await context.close();
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
