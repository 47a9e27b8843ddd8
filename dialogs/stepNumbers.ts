/** A range of step numbers: "1 to 3", "1-3", "de 6 à 8", "2 through 5". */
const RANGE = /\b(\d{1,2})\s*(?:-|–|to|through|thru|till|until|à|a|au)\s*(\d{1,2})\b/gi;
const NUMBER = /\d+/g;
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
  const rest = text.replace(RANGE, (_m, from: string, to: string) => {
    const [a, b] = [Number(from), Number(to)];
    // "3-1" or a "range" longer than any checklist is not a range of steps.
    if (b > a && b - a < 30) for (let n = a; n <= b; n++) add(n);
    else add(a), add(b);
    return ' ';
  });
  for (const n of rest.match(NUMBER) ?? []) add(Number(n));
  return numbers.length > 0 ? { numbers, namesSteps: STEP_WORD.test(text) } : undefined;
}
