/* json.h: strict JSON for request bodies, fast on long arrays of numbers (json.c).
 *
 * jsmn (Debian's libjsmn-dev) tokenizes the text in place: no allocation per value, no
 * recursion, no number conversion. json.c then checks what jsmn leaves to its caller, so that
 * exactly the JSON of RFC 8259 is accepted: the separators between tokens, the number grammar,
 * the literals true/false/null, no control characters in strings, one value in the text, and
 * a nesting limit. Each number's grammar and digits are read in one pass, and it becomes its
 * nearest float32 there (from a double within 2^-52 of the value, unless that lies near a
 * float32 rounding tie; strtof otherwise); as a double on demand, by Clinger's exact path (up
 * to 2^53 and 10^+-22: one operation on exact doubles, so correctly rounded) or strtod. Values are token indices; -1 is "none". */
#ifndef NN_SERVE_JSON_H
#define NN_SERVE_JSON_H

#include <stddef.h>

#define NN_JSON_MAX_DEPTH 64

typedef enum { NN_JSON_NONE, NN_JSON_OBJECT, NN_JSON_ARRAY, NN_JSON_STRING, NN_JSON_NUMBER,
               NN_JSON_TRUE, NN_JSON_FALSE, NN_JSON_NULL } nn_json_type;

typedef struct {
    const char *s;  /* the text (not NUL-terminated) */
    size_t len;
    void *tok;      /* (n) jsmn's tokens, in document order */
    int *after;     /* (n) the token after each value's subtree */
    float *f32;     /* (n) each number's nearest float32, NaN if not finite (converted once,
                     * while the parse checks the number's grammar) */
    int n;
    size_t end;     /* where the root value's text ends; after a failed parse, nonzero when
                     * the root was complete and valid and only the text after it was wrong */
} nn_json;

/* Parses s (len bytes). 0, or -1 with err naming the problem and its byte offset. The root
 * is token 0. */
int nn_json_parse(nn_json *j, const char *s, size_t len, char *err, size_t errlen);
void nn_json_free(nn_json *j);

nn_json_type nn_json_type_of(const nn_json *j, int v);
/* Elements of an array, members of an object. */
int nn_json_size(const nn_json *j, int v);
/* The first element of array v (-1 if empty); the element after e in its array (-1 at the
 * end). */
int nn_json_first(const nn_json *j, int v);
int nn_json_next(const nn_json *j, int e);
/* The value of object v's member key (the first, if repeated), or -1. */
int nn_json_get(const nn_json *j, int v, const char *key);
/* A number as a double (may be +-inf for huge ones); 0 for a value that is not a number. */
double nn_json_number(const nn_json *j, int v);
/* A number as the nearest float32 (correctly rounded, as strtof): 0, or -1 when it is not a
 * number or does not fit a finite float32. */
int nn_json_float(const nn_json *j, int v, float *out);
/* The n elements of array arr (which has n) as nn_json_float gives them, into out: n, or the
 * index of the first element that is not a finite float32 number (out then holds those
 * before it). One pass over the tokens, for the rows of a request. */
size_t nn_json_floats(const nn_json *j, int arr, float *out, size_t n);
/* A string equal to text (no escapes compared: the protocols' names have none). */
int nn_json_is(const nn_json *j, int v, const char *text);
/* The value's own JSON text, with quotes for a string: [*at, *at + return). */
size_t nn_json_raw(const nn_json *j, int v, size_t *at);

#endif
