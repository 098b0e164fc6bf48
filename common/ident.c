/*
 * ident.c - unified social credit code check characters, mainland mobile numbers
 * and phone masking. See ident.h.
 */
#include "ident.h"

static const char s_credit_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* 3^i mod 31 for i = 0..16 (GB 32100-2015). */
static const int s_credit_weights[IDENT_CREDIT_CODE_LEN - 1] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                                                29, 25, 13, 8,  24, 10, 30, 28};

/* Returns the value (0..30) of a credit code character, or -1 if c is not in the
 * set (including NUL). */
static int s_credit_value(char c)
{
    for (int i = 0; s_credit_chars[i] != '\0'; i++) {
        if (s_credit_chars[i] == c)
            return i;
    }
    return -1;
}

static bool s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Returns true if the 11 digits at p form a mainland mobile number; p must point
 * at 11 digits. */
static bool s_mobile_digits(const char *p)
{
    return p[0] == '1' && p[1] >= '3' && p[1] <= '9';
}

char ident_credit_code_check(const char *first17)
{
    if (!first17)
        return 0;
    int sum = 0;
    for (int i = 0; i < IDENT_CREDIT_CODE_LEN - 1; i++) {
        /* A NUL is out of the set, so a short string stops here. */
        int v = s_credit_value(first17[i]);
        if (v < 0)
            return 0;
        sum += v * s_credit_weights[i];
    }
    return s_credit_chars[(31 - sum % 31) % 31];
}

bool ident_credit_code_valid(const char *s)
{
    char check = ident_credit_code_check(s);
    /* The check character is in the set, so s[17] cannot be the NUL here. */
    return check != 0 && s[IDENT_CREDIT_CODE_LEN - 1] == check && s[IDENT_CREDIT_CODE_LEN] == '\0';
}

bool ident_mobile_valid(const char *s)
{
    if (!s)
        return false;
    for (int i = 0; i < IDENT_MOBILE_LEN; i++) {
        if (!s_is_digit(s[i]))
            return false;
    }
    return s[IDENT_MOBILE_LEN] == '\0' && s_mobile_digits(s);
}

size_t ident_mask_phones(const char *in, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return 0;
    size_t w = 0;
    size_t i = 0;
    while (in && in[i] != '\0' && w + 1 < outlen) {
        if (!s_is_digit(in[i])) {
            out[w++] = in[i++];
            continue;
        }
        size_t end = i;
        while (s_is_digit(in[end]))
            end++;
        bool mask = end - i == IDENT_MOBILE_LEN && s_mobile_digits(in + i);
        for (size_t k = 0; i + k < end && w + 1 < outlen; k++)
            out[w++] = (mask && k >= 3 && k < 7) ? '*' : in[i + k];
        i = end;
    }
    out[w] = '\0';
    return w;
}
