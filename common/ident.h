/*
 * ident.h - identity checks: the unified social credit code (统一社会信用代码,
 * GB 32100-2015), mainland mobile numbers, and masking phone numbers in text
 * bound for logs. Pure functions over NUL-terminated strings.
 */
#ifndef LZ_IDENT_H
#define LZ_IDENT_H

#include <stdbool.h>
#include <stddef.h>

/* Length of a unified social credit code, without the NUL. */
#define IDENT_CREDIT_CODE_LEN 18

/* Length of a mainland mobile number. */
#define IDENT_MOBILE_LEN 11

/*
 * Returns true if s is a unified social credit code: exactly 18 characters from
 * "0123456789ABCDEFGHJKLMNPQRTUWXY" (upper case only; no I, O, Z, S, V) whose
 * last character is the check character of the first 17 (weights 3^i mod 31,
 * check = 31 - sum mod 31, 31 -> 0). The embedded organisation code (characters
 * 9..17) is checked against the same character set; its own GB 11714 check
 * digit is not checked.
 */
bool ident_credit_code_valid(const char *s);

/* Returns the check character for the first 17 characters of first17, or 0 if
 * any of them is outside the character set (or the string is shorter). */
char ident_credit_code_check(const char *first17);

/* Returns true if s is a mainland mobile number: exactly 11 ASCII digits, "1"
 * then 3..9. */
bool ident_mobile_valid(const char *s);

/*
 * Copies in to out (NUL-terminated, truncated to outlen - 1 bytes), replacing the
 * middle four digits of every mainland mobile number with "****"
 * ("13812345678" -> "138****5678"). Only a run of exactly 11 ASCII digits counts,
 * not 11 digits inside a longer run (so "+8613812345678" is left as is). in and
 * out must not overlap; a NULL in copies as "". Returns the length written,
 * excluding the NUL (0 if out is NULL or outlen is 0).
 */
size_t ident_mask_phones(const char *in, char *out, size_t outlen);

#endif /* LZ_IDENT_H */
