/*
 * cross_entropy.c - torch.nn.CrossEntropyLoss(label_smoothing=eps) with
 * mean reduction, on logits (N, K) and integer labels:
 *   loss = mean_n [ (1 - eps) (-log p_n,y_n) + eps mean_k (-log p_n,k) ]
 *   dloss/dlogit_n,k = (p_n,k - (1 - eps) [k = y_n] - eps / K) / N
 * Log-softmax is computed in double with the maximum subtracted, so large
 * logits neither overflow nor lose the small probabilities.
 */
#include <math.h>

#include "cnnzoo.h"

cz_status cz_cross_entropy(const cz_tensor *logits, const int *labels, float smoothing,
                           double *loss, cz_tensor *dlogits)
{
    if (!logits || !logits->data || !labels || !loss)
        return cz_fail(CZ_ERR_ARG, "cross_entropy: logits, labels and loss must not be NULL");
    if (logits->ndim != 2 || logits->shape[0] < 1 || logits->shape[1] < 1) {
        char got[64];
        return cz_fail(CZ_ERR_SHAPE, "cross_entropy: logits %s must be (N, K) with N, K >= 1",
                       cz_shape_str(logits, got, sizeof got));
    }
    if (!(smoothing >= 0.0f && smoothing <= 1.0f))
        return cz_fail(CZ_ERR_ARG, "cross_entropy: label smoothing %g must lie in [0, 1]",
                       smoothing);
    int N = logits->shape[0], K = logits->shape[1];
    for (int n = 0; n < N; n++)
        if (labels[n] < 0 || labels[n] >= K)
            return cz_fail(CZ_ERR_ARG, "cross_entropy: labels[%d] = %d is outside [0, %d)", n,
                           labels[n], K);
    if (dlogits && (dlogits->ndim != 2 || dlogits->shape[0] != N || dlogits->shape[1] != K ||
                    !dlogits->data)) {
        cz_status st = cz_tensor_alloc(dlogits, 2, logits->shape);
        if (st != CZ_OK)
            return st;
    }

    double eps = smoothing, total = 0.0;
    for (int n = 0; n < N; n++) {
        const float *z = logits->data + (size_t)n * K;
        double max = z[0];
        for (int k = 1; k < K; k++)
            max = z[k] > max ? z[k] : max;
        double sum_exp = 0.0, sum_z = 0.0;
        for (int k = 0; k < K; k++) {
            sum_exp += exp(z[k] - max);
            sum_z += z[k];
        }
        double log_z = max + log(sum_exp); /* log sum_k exp z_k */
        /* -log p_y and the mean over k of -log p_k */
        double nll = log_z - z[labels[n]];
        double smooth = log_z - sum_z / K;
        total += (1.0 - eps) * nll + eps * smooth;
        if (dlogits) {
            float *dz = dlogits->data + (size_t)n * K;
            for (int k = 0; k < K; k++) {
                double target = eps / K + (k == labels[n] ? 1.0 - eps : 0.0);
                dz[k] = (float)((exp(z[k] - log_z) - target) / N);
            }
        }
    }
    *loss = total / N;
    if (!isfinite(*loss))
        return cz_fail(CZ_ERR_NUMERIC, "cross_entropy: the loss is %g (non-finite logits?)",
                       *loss);
    return CZ_OK;
}
