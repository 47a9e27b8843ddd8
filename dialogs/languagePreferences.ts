import type { StatePropertyAccessor, TurnContext, UserState } from 'botbuilder';
import type { Language } from '../src/content/schema.js';

/** The language a user chose explicitly, remembered per user; otherwise the channel's locale decides. */
export class LanguagePreferences {
  private readonly chosen: StatePropertyAccessor<Language | undefined>;

  constructor(userState: UserState) {
    this.chosen = userState.createProperty<Language | undefined>('preferredLanguage');
  }

  async resolve(context: TurnContext): Promise<{ language: Language; chosen: boolean }> {
    const chosen = await this.chosen.get(context);
    if (chosen === 'en' || chosen === 'fr') return { language: chosen, chosen: true };
    return { language: LanguagePreferences.fromLocale(context.activity.locale), chosen: false };
  }

  static fromLocale(locale: unknown): Language {
    return typeof locale === 'string' && /^fr\b/i.test(locale) ? 'fr' : 'en';
  }

  async choose(context: TurnContext, language: Language): Promise<void> {
    await this.chosen.set(context, language);
  }
}
