import type { Attachment } from 'botbuilder';
import type { KnowledgeEntry, Language } from '../src/content/schema.js';
import type { UiText } from '../src/content/uiText.js';
import { button, cardAttachment, type CardMemo } from './renderCard.js';

/** Splits an answer into display paragraphs; "- " lines become bullets. */
export function answerParagraphs(answer: string): string[] {
  return answer
    .split(/\n+/)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => (line.startsWith('- ') ? `• ${line.slice(2)}` : line));
}

/** Plain text for channels without cards and for screen readers: answer, source and date. */
export function answerPlainText(entry: KnowledgeEntry, language: Language, text: UiText): string {
  const source = entry.sources[0]!;
  return [
    entry[language].title,
    answerParagraphs(entry[language].answer).join('\n'),
    `${text.t(language, 'answer.source', { title: source.title[language] })}: ${source.url[language]}`,
    text.t(language, 'answer.reviewed', { date: entry.lastReviewed })
  ].join('\n\n');
}

export function answerCard(entry: KnowledgeEntry, related: KnowledgeEntry[], language: Language, text: UiText, memo?: CardMemo): Attachment {
  if (!memo) return buildAnswerCard(entry, related, language, text);
  const key = ['answer', entry.id, language, ...related.map((r) => r.id)].join('\u0000');
  return memo.get(key, () => buildAnswerCard(entry, related, language, text));
}

function buildAnswerCard(entry: KnowledgeEntry, related: KnowledgeEntry[], language: Language, text: UiText): Attachment {
  const source = entry.sources[0]!;
  return cardAttachment('answer', {
    lang: language,
    fallbackText: answerPlainText(entry, language, text),
    title: entry[language].title,
    paragraphs: answerParagraphs(entry[language].answer).map((p) => ({ text: p })),
    sourceLine: text.t(language, 'answer.source', { title: source.title[language] }),
    reviewedLine: text.t(language, 'answer.reviewed', { date: entry.lastReviewed }),
    // Every official page the answer cites, each a button ("What is CARM" points to the portal too).
    sources: entry.sources.map((s) => ({ title: s.title[language], url: s.url[language] })),
    relatedLabel: text.t(language, 'answer.related'),
    related: related.map((r) => button(r[language].title, { action: 'answer', entryId: r.id })),
    helpful: button(text.t(language, 'answer.helpful'), { action: 'feedback', entryId: entry.id, helpful: true }),
    notHelpful: button(text.t(language, 'answer.notHelpful'), { action: 'feedback', entryId: entry.id, helpful: false })
  });
}
