import { z } from 'zod';

/** The two languages the assistant speaks. */
export const Language = z.enum(['en', 'fr']);
export type Language = z.infer<typeof Language>;

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'not a real date');

const officialUrl = z
  .string()
  .url()
  .refine(
    (u) => /^https:\/\/([a-z0-9-]+\.)*(cbsa-asfc\.gc\.ca|canada\.ca|cbsa-asfc\.cloud-nuage\.canada\.ca|canada-gazette\.gc\.ca|gazette\.gc\.ca)\//.test(u),
    'sources must be official Government of Canada pages'
  );

/** An official page, with its English and French addresses and titles. */
export const OfficialSource = z.object({
  title: z.object({ en: z.string().min(3), fr: z.string().min(3) }),
  url: z.object({ en: officialUrl, fr: officialUrl })
});
export type OfficialSource = z.infer<typeof OfficialSource>;

/** One language's side of a knowledge entry. */
export const LocalizedAnswer = z.object({
  /** The question as a short button label ("Do I need to register if I use a broker?"). */
  title: z.string().min(5).max(80),
  /** Answer: a short paragraph or a few "- " bullets; plain text with **bold** allowed. */
  answer: z.string().min(40).max(1200),
  /** Training phrasings: how people actually ask it. */
  questions: z.array(z.string().min(2)).min(4)
});

export const KnowledgeEntry = z
  .object({
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'ids are kebab-case'),
    topic: z.enum([
      'overview',
      'registration',
      'sign-in',
      'roles',
      'delegation',
      'security',
      'payments',
      'accounting',
      'help'
    ]),
    en: LocalizedAnswer.extend({ questions: z.array(z.string().min(2)).min(6) }),
    fr: LocalizedAnswer,
    sources: z.array(OfficialSource).min(1),
    lastReviewed: isoDate,
    related: z.array(z.string()).max(4).default([])
  })
  .strict();
export type KnowledgeEntry = z.infer<typeof KnowledgeEntry>;

export const KnowledgeFile = z.array(KnowledgeEntry).min(1);

/** Commands a user can give at any time, recognized like questions. */
export const CommandIntentName = z.enum([
  'start_onboarding',
  'show_progress',
  'help',
  'cancel',
  'start_over',
  'switch_to_french',
  'switch_to_english',
  'talk_to_expert',
  'menu',
  'greeting',
  'thanks',
  'goodbye',
  'undo',
  'acknowledge',
  'change_profile',
  'previous_step',
  'identity'
]);
export type CommandIntentName = z.infer<typeof CommandIntentName>;

/**
 * Commands said in so few ways that their exact words (command-words.yaml) are enough. Training
 * phrasings for "goodbye" ("that's all for today", "à la prochaine") made the classifier read
 * "today" and "prochaines" as farewells in real questions; "undo" must never be guessed; "ok" or
 * "cool" inside a question is not an acknowledgement.
 */
export const WORDS_ONLY_COMMANDS: ReadonlySet<CommandIntentName> = new Set(['goodbye', 'undo', 'acknowledge', 'change_profile', 'previous_step', 'identity']);

export const CommandIntentsFile = z
  .object({
    intents: z.array(
      z
        .object({
          name: CommandIntentName,
          en: z.array(z.string().min(1)).min(5),
          fr: z.array(z.string().min(1)).min(5)
        })
        .strict()
    )
  })
  .strict()
  .refine(
    (f) => CommandIntentName.options.every((n) => WORDS_ONLY_COMMANDS.has(n) || f.intents.some((i) => i.name === n)),
    'every command intent needs utterances'
  );
export type CommandIntentsFile = z.infer<typeof CommandIntentsFile>;

/** A held-out evaluation question: expected is an entry id, a command intent, or null (out of scope). */
export const EvalQuestion = z
  .object({
    text: z.string().min(2),
    lang: Language,
    expected: z.string().nullable()
  })
  .strict();
export const EvalFile = z.object({ questions: z.array(EvalQuestion).min(1) }).strict();

/** What a user tells us up front, used to personalise the plan. */
export const ImporterProfile = z.object({
  resident: z.boolean(),
  usesBroker: z.boolean(),
  hasRmAccount: z.boolean()
});
export type ImporterProfile = z.infer<typeof ImporterProfile>;

/** The profile's yes/no questions ("profile.<name>" in strings and answer words) and the string keys that say each answer. */
export const PROFILE_QUESTIONS = {
  resident: { yes: 'progress.profile.resident', no: 'progress.profile.nonResident' },
  broker: { yes: 'progress.profile.broker', no: 'progress.profile.noBroker' },
  rm: { yes: 'progress.profile.rm', no: 'progress.profile.noRm' }
} as const;
export type ProfileQuestion = keyof typeof PROFILE_QUESTIONS;

/** The string key that says an answer ("uses a customs broker"), in the progress card and when noted. */
export const profileAnswerKey = (question: ProfileQuestion, yes: boolean): string => PROFILE_QUESTIONS[question][yes ? 'yes' : 'no'];

const localizedText = z.object({ en: z.string().min(2), fr: z.string().min(2) });

/** Condition on the profile; every key given must match. */
const ProfileCondition = ImporterProfile.partial().strict();

export const StepValueKind = z.enum(['none', 'signInOption', 'businessNumber', 'programAccount']);
export type StepValueKind = z.infer<typeof StepValueKind>;

export const OnboardingStepDefinition = z
  .object({
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/),
    en: z.object({
      title: z.string().min(3).max(70),
      explanation: z.string().min(20).max(700),
      why: z.string().min(10).max(400),
      done: z.string().min(5).max(250)
    }),
    fr: z.object({
      title: z.string().min(3).max(80),
      explanation: z.string().min(20).max(800),
      why: z.string().min(10).max(450),
      done: z.string().min(5).max(300)
    }),
    link: z.object({ en: z.string().url(), fr: z.string().url() }),
    /** Knowledge entries offered under "Tell me more". */
    learnMore: z.array(z.string()).min(1).max(3),
    /** An optional value the step may record (never a secret, never an affinity answer). */
    collects: StepValueKind.default('none'),
    /** The step is in the plan only when the profile matches (absent: always). */
    appliesWhen: ProfileCondition.optional(),
    /** A business already registered in the portal has done this step ("we registered in 2022"). */
    doneOnceRegistered: z.boolean().default(false),
    /** Extra advice shown when the profile matches, and (`unlessDone`) while another step is not done yet. */
    notes: z.array(z.object({ when: ProfileCondition, unlessDone: z.string().min(1).optional(), text: localizedText }).strict()).default([])
  })
  .strict();
export type OnboardingStepDefinition = z.infer<typeof OnboardingStepDefinition>;

export const OnboardingPhaseDefinition = z
  .object({
    id: z.enum(['pre-registration', 'registration', 'post-registration']),
    title: localizedText,
    intro: localizedText,
    steps: z.array(OnboardingStepDefinition).min(1)
  })
  .strict();
export type OnboardingPhaseDefinition = z.infer<typeof OnboardingPhaseDefinition>;

export const OnboardingPlanFile = z
  .object({ lastReviewed: isoDate, phases: z.array(OnboardingPhaseDefinition).length(3) })
  .strict();
export type OnboardingPlanFile = z.infer<typeof OnboardingPlanFile>;
