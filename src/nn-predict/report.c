/* report.c: nn-predict --report, the figures of a split in the layout of scikit-learn's
 * classification_report (digits=4): per-class precision, recall, F1 and support, accuracy, the
 * macro and support-weighted averages, the confusion matrix and, for two classes, the ROC AUC
 * of the probability of class 1; for regression MSE, MAE and R^2. Pure: each rank adds its
 * rows to the sums (nn_pr_add_*), main.c adds the sums over ranks (counts and sums in double)
 * and gathers the two-class scores, and rank 0 prints (nn_pr_print_*). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_predict.h"

int nn_pr_init(nn_pr *r, int K, int classify, size_t n_local, const float *center)
{
    memset(r, 0, sizeof *r);
    r->K = K;
    r->classify = classify;
    r->n_sums = classify ? (size_t)K * (size_t)K : 5 * (size_t)K;
    r->sums = calloc(r->n_sums, sizeof(double));
    if (classify && K == 2)
        r->pairs = malloc((n_local ? n_local : 1) * 2 * sizeof(float));
    r->center = center;
    return !r->sums || (classify && K == 2 && !r->pairs) ? -1 : 0;
}

void nn_pr_free(nn_pr *r)
{
    free(r->sums);
    free(r->pairs);
    memset(r, 0, sizeof *r);
}

void nn_pr_add_class(nn_pr *r, int truth, int pred, float p1)
{
    r->sums[(size_t)truth * (size_t)r->K + (size_t)pred] += 1.0;
    if (r->pairs) {
        r->pairs[2 * r->n_pairs] = p1;
        r->pairs[2 * r->n_pairs + 1] = (float)truth;
        r->n_pairs++;
    }
}

/* Per output j: n, sum r^2, sum |r|, sum (y - c), sum (y - c)^2 with c the training mean when
 * the model has one (so the variance of y loses nothing to cancellation). */
void nn_pr_add_regress(nn_pr *r, const float *pred, const float *y)
{
    for (int j = 0; j < r->K; j++) {
        double e = (double)pred[j] - (double)y[j];
        double d = (double)y[j] - (r->center ? (double)r->center[j] : 0.0);
        double *s = r->sums + 5 * (size_t)j;
        s[0] += 1.0;
        s[1] += e * e;
        s[2] += fabs(e);
        s[3] += d;
        s[4] += d * d;
    }
}

/* scikit-learn's f-score: (1 + beta^2) p r / (beta^2 p + r), 0 when p + r is 0. */
static double f1_of(double p, double rc)
{
    double denom = 1.0 * p + rc;
    return denom > 0.0 ? (1.0 + 1.0) * p * rc / denom : 0.0;
}

static int cmp_score(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The area under the ROC curve of scores for class 1 (pairs: score, label), sorted here:
 * the Mann-Whitney statistic with ties counted one half, which is what the trapezoids of
 * scikit-learn's roc_auc_score add up to. NAN when one class is absent. */
static double roc_auc(float *pairs, size_t n)
{
    qsort(pairs, n, 2 * sizeof(float), cmp_score);
    double pos = 0.0, neg = 0.0, u = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double tp = 0.0, tn = 0.0;
        while (j < n && pairs[2 * j] == pairs[2 * i]) {
            if (pairs[2 * j + 1] > 0.5f)
                tp += 1.0;
            else
                tn += 1.0;
            j++;
        }
        u += tp * neg + 0.5 * tp * tn; /* positives of this score above the negatives below */
        pos += tp;
        neg += tn;
        i = j;
    }
    return pos > 0.0 && neg > 0.0 ? u / (pos * neg) : NAN;
}

void nn_pr_print_class(FILE *out, const nn_pr *r, float *pairs, size_t n_pairs)
{
    const int K = r->K;
    const double *c = r->sums; /* [truth][pred] */
    double n = 0.0, correct = 0.0;
    int shown = 0, width = 12; /* strlen("weighted avg") */
    for (int k = 0; k < K; k++) {
        double sup = 0.0, predicted = 0.0;
        for (int j = 0; j < K; j++) {
            sup += c[(size_t)k * K + j];
            predicted += c[(size_t)j * K + k];
        }
        n += sup;
        correct += c[(size_t)k * K + k];
        if (sup > 0.0 || predicted > 0.0) { /* scikit-learn lists the labels that occur */
            shown++;
            char name[16];
            int len = snprintf(name, sizeof name, "%d", k);
            width = len > width ? len : width;
        }
    }
    fprintf(out, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score",
            "support");
    double mp = 0.0, mr = 0.0, mf = 0.0, wp = 0.0, wr = 0.0, wf = 0.0;
    for (int k = 0; k < K; k++) {
        double tp = c[(size_t)k * K + k], sup = 0.0, predicted = 0.0;
        for (int j = 0; j < K; j++) {
            sup += c[(size_t)k * K + j];
            predicted += c[(size_t)j * K + k];
        }
        if (sup == 0.0 && predicted == 0.0)
            continue;
        double p = predicted > 0.0 ? tp / predicted : 0.0, rc = sup > 0.0 ? tp / sup : 0.0;
        double f = f1_of(p, rc);
        fprintf(out, "%*d  %9.4f %9.4f %9.4f %9.0f\n", width, k, p, rc, f, sup);
        mp += p;
        mr += rc;
        mf += f;
        wp += p * sup;
        wr += rc * sup;
        wf += f * sup;
    }
    double acc = n > 0.0 ? correct / n : 0.0;
    fprintf(out, "\n%*s  %9s %9s %9.4f %9.0f\n", width, "accuracy", "", "", acc, n);
    fprintf(out, "%*s  %9.4f %9.4f %9.4f %9.0f\n", width, "macro avg", mp / shown, mr / shown,
            mf / shown, n);
    fprintf(out, "%*s  %9.4f %9.4f %9.4f %9.0f\n", width, "weighted avg", wp / n, wr / n,
            wf / n, n);
    fprintf(out, "\nconfusion matrix (row: true class, column: predicted class)\n%*s", width, "");
    for (int k = 0; k < K; k++)
        fprintf(out, " %9d", k);
    fputc('\n', out);
    for (int k = 0; k < K; k++) {
        fprintf(out, "%*d", width, k);
        for (int j = 0; j < K; j++)
            fprintf(out, " %9.0f", c[(size_t)k * K + j]);
        fputc('\n', out);
    }
    if (K == 2 && pairs)
        fprintf(out, "\nROC AUC (probability of class 1) %.6f\n", roc_auc(pairs, n_pairs));
}

void nn_pr_print_regress(FILE *out, const nn_pr *r, int original_units)
{
    const int K = r->K;
    double n = 0.0, se = 0.0, ae = 0.0, r2 = 0.0;
    for (int j = 0; j < K; j++) {
        const double *s = r->sums + 5 * (size_t)j;
        double mean_d = s[3] / s[0], tot = s[4] - s[0] * mean_d * mean_d;
        n = s[0];
        se += s[1];
        ae += s[2];
        /* scikit-learn's r2_score: 1 - SS_res / SS_tot; a constant y scores 1 if predicted
         * exactly, else 0 */
        r2 += tot > 0.0 ? 1.0 - s[1] / tot : (s[1] == 0.0 ? 1.0 : 0.0);
    }
    fprintf(out, "regression report: %.0f samples, %d output%s%s\n", n, K, K > 1 ? "s" : "",
            original_units ? ", in the targets' original units" : "");
    fprintf(out, "  MSE  %.9g\n  MAE  %.9g\n  R2   %.9g%s\n", se / (n * K), ae / (n * K), r2 / K,
            K > 1 ? " (mean over the outputs)" : "");
}
