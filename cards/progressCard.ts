import type { Attachment } from 'botbuilder';
import { profileAnswerKey, type Language } from '../src/content/schema.js';
import type { UiText } from '../src/content/uiText.js';
import type { OnboardingPlan } from '../src/onboarding/onboardingPlan.js';
import type { OnboardingProgress } from '../src/onboarding/onboardingProgress.js';
import { pluralKey } from '../src/util/plural.js';
import { button, cardAttachment } from './renderCard.js';

const MARKS = { done: ['✔', 'Good'], skipped: ['–', 'Default'], later: ['◷', 'Warning'], todo: ['○', 'Default'] } as const;

/** Where the user stands: a bar, each phase's steps ticked or not, and ways to go on. */
export function progressCard(plan: OnboardingPlan, progress: OnboardingProgress | undefined, language: Language, text: UiText): Attachment {
  const lang = language;
  const summary = plan.summary(progress);
  const steps = plan.stepsFor(progress?.profile);
  const statusOf = (id: string) => progress?.steps[id]?.status ?? 'todo';
  const phases = plan.phases.map((phase) => ({
    title: phase.title[lang],
    steps: steps
      .filter((p) => p.phase.id === phase.id)
      .map((p) => {
        const status = statusOf(p.step.id);
        return { mark: MARKS[status][0], color: MARKS[status][1], title: p.step[lang].title, status: text.t(lang, `progress.status.${status}`) };
      })
  }));
  const profile = progress?.profile;
  const profileLine = profile
    ? text.t(lang, 'progress.profile', {
        resident: text.t(lang, profileAnswerKey('resident', profile.resident)),
        broker: text.t(lang, profileAnswerKey('broker', profile.usesBroker)),
        rm: text.t(lang, profileAnswerKey('rm', profile.hasRmAccount))
      })
    : '';
  const summaryLine = progress
    ? text.t(lang, pluralKey(lang, 'progress.summary', summary.done), { done: summary.done, total: summary.total, percent: summary.percent })
    : text.t(lang, 'progress.notStarted');
  const started = !!progress && Object.keys(progress.steps).length > 0;
  // A settled checklist has nowhere to continue to: the card is the review, any step can still be opened.
  const buttons =
    summary.open.length === 0
      ? [button(text.t(lang, 'progress.jump'), { action: 'jump' })]
      : [
          button(text.t(lang, started ? 'progress.continue' : 'menu.start'), { action: 'command', command: 'start_onboarding' }, 'positive'),
          button(text.t(lang, 'progress.jump'), { action: 'jump' }),
          button(text.t(lang, 'progress.markDone'), { action: 'markDone' })
        ];
  // A profile answer that was wrong or has changed is fixed without erasing anything.
  if (profile) buttons.push(button(text.t(lang, 'command.change_profile'), { action: 'command', command: 'change_profile' }));
  const lines = phases.flatMap((ph) => [ph.title, ...ph.steps.map((s) => `${s.mark} ${s.title} (${s.status})`)]);
  return cardAttachment('progress', {
    lang,
    fallbackText: [text.t(lang, 'progress.title'), summaryLine, ...lines].join('\n'),
    title: text.t(lang, 'progress.title'),
    summary: summaryLine,
    percent: summary.percent,
    profileLine,
    phases,
    pickLabel: text.t(lang, 'progress.pickStep'),
    // Every step, its mark in front: a finished one can be opened again (its card's "Not yet" reopens it).
    pickSteps: steps.map((p) => ({ title: `${MARKS[statusOf(p.step.id)][0]} ${p.number}. ${p.step[lang].title}`, value: p.step.id })),
    firstPick: (summary.next ?? summary.open[0] ?? steps[0])?.step.id ?? '',
    buttons
  });
}
