/**
 * Text compared the way a person reads a label: case, accents' compatibility forms, spacing and punctuation
 * do not matter ("Sign-in" is "sign in"), letters and digits of any script do.
 */
export function normaliseText(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "");
}

/** Whether `haystack` says `needle` (after normalising both); an empty needle matches nothing. */
export function matchesText(haystack: string, needle: string): boolean {
  const wanted = normaliseText(needle);
  return wanted !== "" && normaliseText(haystack).includes(wanted);
}
