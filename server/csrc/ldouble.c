/* Long double arithmetic for INCRBYFLOAT, with Redis's parsing and formatting rules.
 * Redis computes INCRBYFLOAT in C `long double` and prints it with "%.17Lf" minus trailing
 * zeros; doing the same here gives byte-identical results (e.g. 10.5 + 0.1 = "10.6"). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LONG_DOUBLE_CHARS (5 * 1024)

/* 1 if s[0..len) is a valid long double (Redis string2ld), storing it in *out. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    char *eptr;
    long double v;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* A NUL inside the argument would end strtold early: Redis sees the whole length. */
    if (strlen(buf) != len) return 0;
    errno = 0;
    v = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        errno == EINVAL || isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Returns: 0 ok (result written to out, length in *outlen), 1 current value not a float,
 * 2 increment not a float, 3 result NaN or infinite. */
int redraft_incrbyfloat(const char *cur, size_t curlen, int has_cur, const char *incr, size_t incrlen,
                        char *out, size_t outcap, size_t *outlen) {
    long double a = 0, b = 0, r;
    int l;
    if (has_cur && !parse_ld(cur, curlen, &a)) return 1;
    if (!parse_ld(incr, incrlen, &b)) return 2;
    r = a + b;
    if (isnan(r) || isinf(r)) return 3;
    l = snprintf(out, outcap, "%.17Lf", r);
    if (l < 0 || (size_t)l + 1 > outcap) return 3;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    *outlen = (size_t)l;
    return 0;
}

/* Redis 7.0's addReplyDouble: "%.17g" (7.2 switched to the shortest representation). */
int redraft_fmt_double(double d, char *out, size_t outcap) {
    return snprintf(out, outcap, "%.17g", d);
}

/* Redis's getDoubleFromObject: the whole string is a C double (strtod: decimal, hex, inf),
 * no leading space, no overflow to +-HUGE_VAL or underflow to 0, not NaN. 1 if valid. */
int redraft_parse_double(const char *s, size_t len, double *out) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    char *eptr;
    double v;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strlen(buf) != len || isspace((unsigned char)buf[0])) return 0;
    errno = 0;
    v = strtod(buf, &eptr);
    if ((size_t)(eptr - buf) != len ||
        (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) || isnan(v))
        return 0;
    *out = v;
    return 1;
}
