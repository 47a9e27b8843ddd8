import { z } from 'zod';
import { ImporterProfile, Language } from '../content/schema.js';

export const StepStatus = z.enum(['done', 'skipped', 'later']);
export type StepStatus = z.infer<typeof StepStatus>;

export const SignInOption = z.enum(['gckey', 'sign-in-partner', 'undecided']);
export type SignInOption = z.infer<typeof SignInOption>;

/** The 9-digit CRA business number; the last digit is a Luhn check digit. */
export const BusinessNumber = z
  .string()
  .transform((s) => s.replace(/[\s.-]/g, ''))
  .refine((s) => /^\d{9}$/.test(s), { message: 'bn9.format' })
  .refine((s) => luhnValid(s), { message: 'bn9.checkDigit' });
export type BusinessNumber = z.infer<typeof BusinessNumber>;

/** BN15: BN9 + "RM" + 4 digits, e.g. 123456782RM0001. */
export const ProgramAccountNumber = z
  .string()
  .transform((s) => s.replace(/[\s.-]/g, '').toUpperCase())
  .refine((s) => /^\d{9}[A-Z]{2}\d{4}$/.test(s), { message: 'bn15.format' })
  .refine((s) => s.slice(9, 11) === 'RM', { message: 'bn15.notRm' })
  .refine((s) => luhnValid(s.slice(0, 9)), { message: 'bn15.checkDigit' });
export type ProgramAccountNumber = z.infer<typeof ProgramAccountNumber>;

/** Any CRA program account number (BN15): the BN9, a program's two letters (RM, RT, RP…), four digits. */
const ANY_PROGRAM_ACCOUNT = /^(\d{9})[A-Z]{2}\d{4}$/i;

/** The BN9 at the start of a program account number, spaced, dashed or dotted as people write it; else undefined. */
export function businessNumberInProgramAccount(raw: string): string | undefined {
  return ANY_PROGRAM_ACCOUNT.exec(raw.replace(/[\s.-]/g, ''))?.[1];
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Shows only the last three digits of an identifier the user chose to give us. */
export function maskIdentifier(value: string): string {
  return value.replace(/\d(?=(?:\D*\d){3})/g, '•');
}

export const OnboardingProgress = z
  .object({
    version: z.literal(1),
    profile: ImporterProfile.optional(),
    steps: z.record(z.string(), z.object({ status: StepStatus, at: z.string() })),
    values: z
      .object({
        signInOption: SignInOption.optional(),
        businessNumber: z.string().regex(/^\d{9}$/).optional(),
        programAccount: z.string().regex(/^\d{9}RM\d{4}$/).optional()
      })
      .default({}),
    language: Language.optional(),
    startedAt: z.string(),
    updatedAt: z.string(),
    /** Activity ids already applied, so a retried or double-clicked submit changes nothing twice. */
    appliedActivityIds: z.array(z.string()).default([])
  })
  .strict();
export type OnboardingProgress = z.infer<typeof OnboardingProgress>;

export function newOnboardingProgress(now = new Date()): OnboardingProgress {
  const at = now.toISOString();
  return { version: 1, steps: {}, values: {}, startedAt: at, updatedAt: at, appliedActivityIds: [] };
}
