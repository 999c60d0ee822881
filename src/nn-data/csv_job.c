/* csv_job.c: the CSV importer's job itself (csv_job.h): freeing it, and how its columns and
 * fields are named in messages. The other files of the importer build on this one and on
 * labels.c, so that no file needs one that needs it back. */
#include <stdio.h>
#include <stdlib.h>

#include "csv_job.h"
#include "nn_h5info.h"

void job_free(csv_job *j)
{
    if (j->names)
        for (size_t i = 0; i < j->width; i++)
            free(j->names[i]);
    free(j->names);
    nn_h5_strings_free(j->cnames, j->k);
    free(j->cval);
    strset_free(&j->seen);
    for (size_t c = 0; j->cs && c < j->width; c++)
        free(j->cs[c].text_value);
    for (size_t c = 0; j->st && c < j->width; c++) {
        free(j->st[c].vals);
        strset_free(&j->st[c].cats);
    }
    free(j->cs);
    free(j->st);
    free(j->role);
    free(j->src);
    free(j->rowf);
    free(j->kind);
    free(j->val);
    free(j->x);
    nn_enc_free(&j->enc);
    nn_csv_close(j->csv);
    if (j->f)
        fclose(j->f);
}

const char *col_name(const csv_job *j, size_t c, char *buf, size_t len)
{
    if (j->names)
        snprintf(buf, len, "column %zu ('%.60s')", c, j->names[c]);
    else
        snprintf(buf, len, "column %zu", c);
    return buf;
}

const char *quote_value(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; s[i] && o + 8 < len; i++) {
        if (i == 40) {
            o += (size_t)snprintf(buf + o, len - o, "...");
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o] = '\0';
    return buf;
}
