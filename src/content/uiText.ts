import type { Language } from './schema.js';

export type UiStrings = Record<string, string>;

/** Fills {name} placeholders; a missing value is left visible rather than silently dropped. */
function fill(template: string, vars: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** The product's interface strings in both languages, checked at load for matching keys and placeholders. */
export class UiText {
  constructor(private readonly strings: Record<Language, UiStrings>) {
    const en = Object.keys(strings.en);
    const fr = new Set(Object.keys(strings.fr));
    const missing = en.filter((k) => !fr.has(k)).concat([...fr].filter((k) => !(k in strings.en)));
    if (missing.length > 0) throw new Error(`UI strings differ between English and French: ${missing.slice(0, 5).join(', ')}`);
    for (const key of en) {
      const a = (strings.en[key]!.match(/\{\w+\}/g) ?? []).sort().join();
      const b = (strings.fr[key]!.match(/\{\w+\}/g) ?? []).sort().join();
      if (a !== b) throw new Error(`UI string "${key}" has different placeholders in English and French`);
    }
  }

  t(language: Language, key: string, vars?: Record<string, string | number>): string {
    const template = this.strings[language][key];
    if (template === undefined) throw new Error(`Unknown UI string "${key}"`);
    return fill(template, vars);
  }

  has(key: string): boolean {
    return key in this.strings.en;
  }
}
