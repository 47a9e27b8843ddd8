import type { TurnContext } from 'botbuilder';
import type { Language } from '../src/content/schema.js';
import type { ProgressRepository, UserRef } from '../src/onboarding/progressRepository.js';

/**
 * The language a user chose explicitly, kept in their record with their progress (read once per
 * turn anyway); otherwise the channel's locale decides.
 */
export class LanguagePreferences {
  constructor(private readonly progress: ProgressRepository) {}

  async resolve(context: TurnContext, user: UserRef): Promise<{ language: Language; chosen: boolean }> {
    const chosen = (await this.progress.get(user, context))?.language;
    if (chosen === 'en' || chosen === 'fr') return { language: chosen, chosen: true };
    return { language: LanguagePreferences.fromLocale(context.activity.locale), chosen: false };
  }

  static fromLocale(locale: unknown): Language {
    return typeof locale === 'string' && /^fr\b/i.test(locale) ? 'fr' : 'en';
  }

  async choose(user: UserRef, language: Language): Promise<void> {
    await this.progress.update(user, (p) => {
      p.language = language;
    });
  }
}
