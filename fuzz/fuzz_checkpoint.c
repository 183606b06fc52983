/*
 * fuzz_checkpoint.c - a training checkpoint (`train --resume`): the run
 * state in the safetensors metadata (format, epoch, step, generators,
 * schedule, the position and tallies inside an epoch), the optimizer's
 * state tensors and the net's, restored into a small net with BatchNorm
 * under AdamW and a plateau schedule (the most state each keeps), as one
 * rank of two so the tally rows are checked too.
 *
 * A real checkpoint of LeNet-5 is 740 KB, beyond what the fuzzer mutates
 * well; this net's is under 2 KB (fuzz/make_seeds.py writes its seeds).
 */
#include "fuzz.h"
#include "train/checkpoint.h"

/* conv 1->2 3x3 on 1x4x4, BatchNorm, linear 8->3: the names and shapes
 * make_seeds.py's checkpoint seeds hold. */
static cz_net *small_net(void)
{
    cz_net *net = cz_net_create(1, 4, 4, 1);
    if (!net)
        return NULL;
    int x = cz_conv2d(net, CZ_INPUT, "conv", (cz_conv_args){.out_channels = 2, .kernel = 3, .bias = true});
    x = cz_batchnorm(net, x, "bn", 1e-5f, 0.1f);
    x = cz_flatten(net, x, "flatten");
    cz_linear(net, x, "fc", 3, true);
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_path("run.ckpt.safetensors");
    if (!fz_write(path, data, size))
        return 0;
    cz_net *net = small_net();
    cz_optim opt = {0};
    cz_schedule sched;
    cz_optim_config oc = cz_optim_defaults(CZ_OPTIM_ADAMW);
    cz_schedule_config sc = {.kind = CZ_SCHED_PLATEAU, .base_lr = 0.1f, .factor = 0.1f,
                             .patience = 10, .threshold = 1e-4f};
    if (net && cz_optim_init(&opt, net, &oc) == CZ_OK && cz_schedule_init(&sched, &sc) == CZ_OK) {
        cz_run_state run = {.rank = 1, .ranks = 2};
        cz_checkpoint_load(path, net, &opt, &sched, &run);
    }
    cz_optim_free(&opt);
    cz_net_free(net);
    return 0;
}
