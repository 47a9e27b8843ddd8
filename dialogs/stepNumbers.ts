/** A range of step numbers: "1 to 3", "1-3", "de 6 à 8", "de 6 jusqu'à 8", "2 through 5". */
const RANGE = /\b(\d{1,2})\s*(?:-|–|to|through|thru|till|until|jusqu['’\s]*(?:à|a|au)|à|a|au)\s*(\d{1,2})\b/gi;
const NUMBER = /\d+/g;
/** "Everything up to step 5", "jusqu'à l'étape 5": every step from the first ("4 till 6" is a range). */
const UP_TO = /(?<!\d\s*)\b(?:up\s+to|up\s+until|until|till|through|jusqu['’\s]*(?:à|a|au))\s+(?:(?:the\s+)?steps?\s*|l['’\s]*[ée]tapes?\s*|[ée]tapes?\s*)?(?:#\s*)?(\d{1,2})\b/gi;
/** The word "step" in either language, singular or plural. */
const STEP_WORD = /\b(?:steps?|[ée]tapes?)\b/i;

export interface NumberedSteps {
  /** The step numbers listed, in order, each once. */
  numbers: number[];
  /** True when the message says "step(s)" / "étape(s)". */
  namesSteps: boolean;
}

/**
 * The step numbers a message lists ("steps 1 to 3", "6 7 et 8", "1, 2 and 4"). None when any number
 * in it has three digits or more (a business number, a year, an amount): then it is not a list of steps.
 */
export function numberedSteps(text: string): NumberedSteps | undefined {
  const all = text.match(NUMBER) ?? [];
  if (all.length === 0 || all.some((n) => n.length > 2)) return undefined;
  const numbers: number[] = [];
  const add = (n: number) => {
    if (n > 0 && !numbers.includes(n)) numbers.push(n);
  };
  // Read first: "up to step 5" says 1 to 5, not 5 alone.
  const afterUpTo = text.replace(UP_TO, (_m, to: string) => {
    for (let n = 1; n <= Number(to); n++) add(n);
    return ' ';
  });
  const rest = afterUpTo.replace(RANGE, (_m, from: string, to: string) => {
    const [a, b] = [Number(from), Number(to)];
    // "3-1" or a "range" longer than any checklist is not a range of steps.
    if (b > a && b - a < 30) for (let n = a; n <= b; n++) add(n);
    else add(a), add(b);
    return ' ';
  });
  for (const n of rest.match(NUMBER) ?? []) add(Number(n));
  return numbers.length > 0 ? { numbers, namesSteps: STEP_WORD.test(text) } : undefined;
}
