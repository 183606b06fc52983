/*
 * lanes.c - inference at a batch over one: each thread takes whole
 * samples through the trunk of the net, one sample at a time.
 *
 * Op by op over the whole batch, a batch of 8 sends each op's maps out of
 * the caches before the next op reads them (mobilenet_v2's 96 x 112 x 112
 * maps are 4.8 MB a sample): each image took longer than at batch 1
 * (mobilenet_v3_large on one thread, 7.2 against 6.0 ms), and two threads
 * splitting every op met at a barrier after each. A lane is a copy of the
 * net's nodes with the feature maps, scratch and saved state of one
 * sample; the parameters and the caches made from them (packed and
 * transformed weights) stay the net's, and lanes only read them. The
 * classifier after the last conv still runs on the whole batch, so its
 * fully connected weights (vgg16's 472 MB) are read once per batch, not
 * once per sample.
 *
 * Each sample gets the bits the whole batch gives it: no kernel's result
 * for a sample depends on the batch or on the thread count
 * (test_conv_thread_bits; test_fusion_bits and test_lanes_bits compare
 * whole models).
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "net.h"

struct cz_lane {
    cz_net net;       /* the net's fields, but for the lane's own below */
    cz_node *nodes;   /* copies of the net's nodes, each with its own saved state */
    int cap;
    void *scratch;
    size_t scratch_size;
    float *arena;     /* one sample's feature maps, as the plan places them */
    size_t arena_cap;
    double *profile;  /* seconds per node, while the net profiles */
    cz_status status; /* the lane's first failure, and its message */
    char error[1024];
};

int cz_lanes_split(const cz_net *net)
{
    if (net->lanes_off)
        return 0;
    /* A fully connected layer inside the trunk (CBAM's channel MLPs)
     * keeps the net on the whole batch: a linear layer sums in another
     * order for one row than for several, so lanes would change its bits. */
    int last_conv = -1, first_linear = net->n_nodes;
    for (int i = 1; i < net->n_nodes; i++) {
        const cz_node *node = &net->nodes[i];
        if (node->op == &cz_op_conv2d && !node->train_only)
            last_conv = i;
        if (node->op == &cz_op_linear && !node->train_only && first_linear == net->n_nodes)
            first_linear = i;
    }
    return last_conv < 0 || first_linear < last_conv ? 0 : first_linear;
}

void cz_lanes_free(cz_net *net)
{
    for (int l = 0; l < net->n_lanes; l++) {
        struct cz_lane *lane = &net->lanes[l];
        for (int i = 0; i < lane->cap; i++)
            free(lane->nodes[i].saved); /* the rest is the net's */
        free(lane->nodes);
        free(lane->scratch);
        free(lane->arena);
        free(lane->profile);
    }
    free(net->lanes);
    net->lanes = NULL;
    net->n_lanes = 0;
}

/* Room for `count` lanes, each with storage for the net as planned. */
static cz_status grow_lanes(cz_net *net, int count)
{
    if (count > net->n_lanes) {
        struct cz_lane *more = realloc(net->lanes, sizeof *more * (size_t)count);
        if (!more)
            return cz_fail(CZ_ERR_NOMEM, "forward: no memory for %d lanes", count);
        memset(more + net->n_lanes, 0, sizeof *more * (size_t)(count - net->n_lanes));
        net->lanes = more;
        net->n_lanes = count;
    }
    size_t n = (size_t)net->n_nodes;
    for (int l = 0; l < count; l++) {
        struct cz_lane *lane = &net->lanes[l];
        if (lane->cap < net->n_nodes) {
            cz_node *nodes = realloc(lane->nodes, sizeof *nodes * n);
            double *profile = realloc(lane->profile, sizeof *profile * n);
            if (nodes)
                lane->nodes = nodes;
            if (profile)
                lane->profile = profile;
            if (!nodes || !profile)
                return cz_fail(CZ_ERR_NOMEM, "forward: no memory for a lane's nodes");
            for (size_t i = (size_t)lane->cap; i < n; i++)
                nodes[i].saved = NULL, nodes[i].saved_size = 0;
            lane->cap = net->n_nodes;
        }
        if (lane->arena_cap < net->arena_per_sample) {
            free(lane->arena);
            lane->arena = aligned_alloc(64, (net->arena_per_sample + 15) / 16 * 16 * sizeof(float));
            lane->arena_cap = lane->arena ? net->arena_per_sample : 0;
            if (!lane->arena)
                return cz_fail(CZ_ERR_NOMEM, "forward: cannot allocate %zu floats of a lane's "
                               "feature maps", net->arena_per_sample);
        }
    }
    return CZ_OK;
}

/* The lane as the net is now: its nodes the net's (plan, caches, kernel)
 * but for their saved state and their outputs, which are the lane's. */
static void sync_lane(const cz_net *net, struct cz_lane *lane)
{
    cz_net *ln = &lane->net;
    *ln = *net;
    ln->nodes = lane->nodes;
    ln->cap_nodes = lane->cap;
    ln->scratch = lane->scratch;
    ln->scratch_size = lane->scratch_size;
    ln->arena = lane->arena;
    ln->arena_cap = lane->arena_cap;
    ln->batch = 1;
    ln->lanes = NULL;
    ln->n_lanes = 0;
    ln->profile = net->profile ? lane->profile : NULL;
    lane->status = CZ_OK;
    for (int i = 0; i < net->n_nodes; i++) {
        cz_node *node = &lane->nodes[i];
        void *saved = node->saved;
        size_t saved_size = node->saved_size;
        *node = net->nodes[i];
        node->saved = saved;
        node->saved_size = saved_size;
        node->dout = (cz_tensor){0};
        node->out.data = node->arena_at == CZ_NO_BUFFER ? NULL : lane->arena + node->arena_at;
        node->out.shape[0] = 1;
        node->borrowed = true;
        lane->profile[i] = 0;
    }
}

/* Sample n through nodes 1 .. split - 1 on the lane; the outputs read
 * after the trunk (listed in `keep`) go to the sample's place in the net's. */
static void run_sample(cz_net *net, struct cz_lane *lane, const cz_tensor *input, int n,
                       int split, const int *keep, int n_keep)
{
    cz_net *ln = &lane->net;
    if (lane->status != CZ_OK)
        return;
    size_t per = cz_node_numel(&ln->nodes[0]);
    ln->nodes[0].out.data = input->data + (size_t)n * per; /* read only */
    for (int i = 1; i < split && lane->status == CZ_OK; i++)
        lane->status = cz_net_run_node(ln, i);
    if (lane->status != CZ_OK) {
        strncpy(lane->error, cz_last_error(), sizeof lane->error - 1);
        return;
    }
    for (int k = 0; k < n_keep; k++) {
        size_t numel = cz_node_numel(&ln->nodes[keep[k]]);
        memcpy(net->nodes[keep[k]].out.data + (size_t)n * numel, ln->nodes[keep[k]].out.data,
               sizeof(float) * numel);
    }
}

/* The lane's scratch back in its hands (a node may have grown it), its
 * node times into the net's profile, `share` of each. */
static void settle(cz_net *net, struct cz_lane *lane, double share, int split)
{
    lane->scratch = lane->net.scratch;
    lane->scratch_size = lane->net.scratch_size;
    for (int i = 1; net->profile && i < split; i++) {
        net->profile[i] += share * lane->profile[i];
        lane->profile[i] = 0;
    }
}

static cz_status lane_failed(const struct cz_lane *lane)
{
    return cz_fail(lane->status, "%s", lane->error);
}

/* The caches that the trunk's nodes make from the weights (packed,
 * Winograd-transformed) hold for this version of the weights on this
 * kernel path; a training forward repacks them (cz_net_forward clears
 * the key then). */
static uint64_t caches_key(const cz_net *net)
{
    return net->param_version << 8 | (uint64_t)cz_kernels_current() << 1 | 1;
}

/* The trunk's outputs read after it, by a node from `split` on or as the
 * net's output, into keep; their count. `read` has n_nodes zeros. */
static int trunk_outputs(const cz_net *net, int split, int *read, int *keep)
{
    for (int j = split; j < net->n_nodes; j++) {
        const cz_node *node = &net->nodes[j];
        const cz_node *pre = node->fuse_pre >= 0 ? &net->nodes[node->fuse_pre] : NULL;
        for (int k = 0; k < node->n_inputs && !node->train_only; k++)
            read[node->inputs[k]] = 1;
        for (int k = 0; pre && k < pre->n_inputs; k++) /* a conv reads its prologue's inputs */
            read[pre->inputs[k]] = 1;
    }
    read[cz_net_output(net)] = 1;
    int n = 0;
    for (int i = 1; i < split; i++)
        if (read[i] && net->nodes[i].arena_at != CZ_NO_BUFFER)
            keep[n++] = i;
    return n;
}

/* Sample 0 alone on the first lane, on every thread, making the caches
 * that the lanes will share; the net takes them. */
static void make_caches(cz_net *net, const cz_tensor *input, int split, const int *keep,
                        int n_keep)
{
    struct cz_lane *first = &net->lanes[0];
    sync_lane(net, first);
    run_sample(net, first, input, 0, split, keep, n_keep);
    for (int i = 1; i < split; i++) {
        net->nodes[i].cache = first->nodes[i].cache;
        net->nodes[i].cache_size = first->nodes[i].cache_size;
        net->nodes[i].cache_key = first->nodes[i].cache_key;
    }
    settle(net, first, 1.0, split);
    if (first->status == CZ_OK)
        net->lanes_key = caches_key(net);
}

cz_status cz_lanes_forward(cz_net *net, const cz_tensor *input, int split)
{
    int N = net->batch, T = omp_get_max_threads();
    cz_status st = grow_lanes(net, T < N ? T : N);
    int *keep = st == CZ_OK ? calloc(2 * (size_t)net->n_nodes, sizeof *keep) : NULL;
    if (!keep)
        return st != CZ_OK ? st : cz_fail(CZ_ERR_NOMEM, "forward: no memory for the lanes");
    int n_keep = trunk_outputs(net, split, keep + net->n_nodes, keep), n = 0;
    struct cz_lane *first = &net->lanes[0];
    if (net->lanes_key != caches_key(net)) {
        make_caches(net, input, split, keep, n_keep);
        n = 1;
    }
    /* Whole rounds of a sample per thread, each thread on its lane; the
     * rest one at a time on all threads. */
    int whole = T > 1 && first->status == CZ_OK ? (N - n) / T * T : 0;
    if (whole > 0) {
        for (int l = 0; l < T; l++)
            sync_lane(net, &net->lanes[l]);
#pragma omp parallel num_threads(T)
        {
            struct cz_lane *lane = &net->lanes[omp_get_thread_num()];
            omp_set_num_threads(1); /* this thread's nested regions: itself */
#pragma omp for schedule(static)
            for (int s = n; s < n + whole; s++)
                run_sample(net, lane, input, s, split, keep, n_keep);
        }
        n += whole;
        for (int l = 0; l < T; l++)
            settle(net, &net->lanes[l], 1.0 / T, split);
    }
    if (n < N && first->status == CZ_OK) {
        sync_lane(net, first);
        for (; n < N; n++)
            run_sample(net, first, input, n, split, keep, n_keep);
        settle(net, first, 1.0, split);
    }
    free(keep);
    for (int l = 0; l < (whole > 0 ? T : 1); l++)
        if (net->lanes[l].status != CZ_OK)
            return lane_failed(&net->lanes[l]);
    for (int i = 1; i < split; i++)
        net->nodes[i].kernel = first->nodes[i].kernel;
    return CZ_OK;
}
