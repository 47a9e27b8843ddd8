import type { Language } from '../content/schema.js';

const rules = new Map<Language, Intl.PluralRules>();

/**
 * The string key to say a count with: `<key>.one` when the language says this count in the singular,
 * else `<key>` (the plural form). The languages' own rules decide, and they differ: 0 is plural in
 * English ("0 steps") but singular in French ("0 étape").
 */
export function pluralKey(language: Language, key: string, count: number): string {
  let rule = rules.get(language);
  if (!rule) rules.set(language, (rule = new Intl.PluralRules(language)));
  return rule.select(count) === 'one' ? `${key}.one` : key;
}
