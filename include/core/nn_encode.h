/* nn_encode.h: the encoder of raw tabular records (docs/tabular.md): the one transformation
 * from a CSV row of strings to the D float32 features a model reads, fitted by nn-data
 * import-csv on the training rows, stored in the data file (/meta/encoder) and copied by
 * nn-train into every checkpoint (/encoder), so that nn-predict --csv applies to a raw row
 * exactly what the importer applied to the rows the model learnt from.
 *
 * A source column is numeric (one output; a missing value becomes the imputed fill, or is an
 * error when there is none, with --impute drop; optionally one more output, 1 when the value
 * was missing) or categorical (one output per category of the vocabulary, a one-hot code;
 * optionally an "other" output for the rare values --max-categories cut and for values never
 * seen, and a "missing" output when training rows had missing values). A value never seen
 * goes to "other" when the column has it, else to the all-zero code. A field is missing when,
 * blanks trimmed, it is empty or equals one of the NA tokens (ASCII case ignored).
 *
 * Pure (no I/O): the encoder travels as text (nn_enc_to_text / nn_enc_from_text), one line
 * per column, strings %-escaped, floats as %.9g (exact float32 round trip). */
#ifndef NN_ENCODE_H
#define NN_ENCODE_H

#include <stddef.h>

enum { NN_ENC_NUMERIC = 0, NN_ENC_CATEGORICAL = 1 };

typedef struct {
    char *name;       /* the source column's header name (or its 0-based index as text) */
    int kind;         /* NN_ENC_NUMERIC or NN_ENC_CATEGORICAL */
    int first, width; /* its outputs: [first, first + width), set by nn_enc_layout */
    /* numeric */
    int has_fill;     /* 1: a missing value becomes fill; 0: a missing value is an error */
    float fill;
    int indicator;    /* one more output: 1.0 when the value was missing, else 0.0 */
    /* categorical: outputs cat[0..ncat), then other, then missing (those present) */
    int ncat;
    char **cat;
    int other;        /* an output for rare values (--max-categories) and values never seen */
    int missing;      /* an output for a missing value */
    int *order;       /* cat's indices in strcmp order, for the lookup (nn_enc_layout) */
} nn_enc_col;

typedef struct {
    int ncol;
    nn_enc_col *col;  /* in the order of their outputs */
    int d;            /* outputs in all (nn_enc_layout) */
    int nna;
    char **na;        /* NA tokens besides the empty field */
    char *label;      /* the label column's name, or NULL */
    int classify;     /* the label is a class (names in cls), else a number */
    int ncls;
    char **cls;       /* class names, in class-index order */
} nn_encoder;

/* What went wrong with a field (nn_enc_row). */
typedef enum {
    NN_ENC_OK = 0,
    NN_ENC_NOT_A_NUMBER, /* a numeric column's field is text */
    NN_ENC_NONFINITE,    /* a numeric column's field is inf, nan or beyond float32 */
    NN_ENC_NO_FILL,      /* a numeric column's field is missing and there is no fill */
} nn_enc_status;

void nn_enc_init(nn_encoder *e);
void nn_enc_free(nn_encoder *e); /* accepts NULL; leaves e empty */
/* Sets each column's first and width and e->d, and the categories' lookup order. 0, or -1
 * when out of memory. */
int nn_enc_layout(nn_encoder *e);

/* What a field holds as a number (the values of nn_num_kind, nn_csv.h). */
enum { NN_ENC_NUM_OK = 0, NN_ENC_NUM_EMPTY, NN_ENC_NUM_NONFINITE, NN_ENC_NUM_BAD };
/* Parses a field as a decimal number (strtod's syntax in the C locale, surrounding blanks
 * allowed; plain decimals by Clinger's exact fast path) into *v; one of the NN_ENC_NUM_*. */
int nn_enc_number(const char *s, double *v);

/* Whether field s is a missing value under e's NA tokens. */
int nn_enc_is_na(const nn_encoder *e, const char *s);

/* Encodes one record: f[c] is column c's field (e->ncol of them, in e's column order) into
 * x[e->d]. NN_ENC_OK, or the status of the first bad field with its column in *bad. The
 * count of categorical values never seen (encoded as other or zeros) is added to *unseen
 * when unseen is not NULL. */
nn_enc_status nn_enc_row(const nn_encoder *e, const char *const *f, float *x, int *bad,
                         size_t *unseen);

/* The name of output j, e.g. "age", "age=(missing)", "color=red", "color=(other)". */
const char *nn_enc_output_name(const nn_encoder *e, int j, char *buf, size_t len);

/* The class of label text s: its index in cls (exact text, or equal as numbers when both are
 * numbers), or -1. */
int nn_enc_class_of(const nn_encoder *e, const char *s);

/* The text form (malloc'd; NULL when out of memory). */
char *nn_enc_to_text(const nn_encoder *e);
/* Parses the text form into e (laid out); 0, or -1 with one line in err (e left empty). */
int nn_enc_from_text(nn_encoder *e, const char *text, char *err, size_t errlen);

#endif
