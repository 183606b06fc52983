/* input.c - the net's input node: the executor copies the batch into it. */
#include "graph/net.h"

static cz_status input_infer(cz_net *net, cz_node *node)
{
    (void)net;
    return cz_node_fail(node, CZ_ERR_ARG, "a net has exactly one input, made by cz_net_create");
}

const cz_op cz_op_input = {.name = "input", .infer = input_infer};
