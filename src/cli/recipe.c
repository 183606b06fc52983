/*
 * recipe.c - the survey's training recipes, as their papers give them.
 * Learning rates are the papers' for the papers' batch sizes; with a
 * smaller --batch, scale --lr in proportion (Goyal et al. 2017).
 */
#include <string.h>

#include "cli/recipe.h"

static const cz_recipe recipes[] = {
    /* Krizhevsky et al. 2012, section 5: batch 128, momentum 0.9, weight
     * decay 5e-4, lr 0.01 divided by 10 when the validation error stopped
     * improving, about 90 epochs; random 224 crops of the 256 image, flips,
     * PCA lighting 0.1; weights N(0, 0.01), biases 1 in conv2, conv4, conv5
     * and the hidden FC layers. */
    {"alexnet", "Krizhevsky et al. 2012, sec. 5", 128, 90, "sgd", 0.01f, 0.9f, 5e-4f, 0,
     "plateau:0.1:3", 0, 0, "random-crop", 0, 0.1f, true, 0},
    /* Simonyan & Zisserman 2014, section 3.1: batch 256, momentum 0.9,
     * weight decay 5e-4, lr 0.01 divided by 10 when the validation accuracy
     * stopped improving (3 times, 74 epochs); AlexNet's crops, flips and
     * colour shift. */
    {"vgg", "Simonyan & Zisserman 2014, sec. 3.1", 256, 74, "sgd", 0.01f, 0.9f, 5e-4f, 0,
     "plateau:0.1:3", 0, 0, "random-crop", 0, 0.1f, false, 0},
    /* Szegedy et al. 2014, section 6: momentum 0.9, lr decreased by 4%
     * every 8 epochs; crops of 8%..100% of the area with aspect 3/4..4/3
     * (RandomResizedCrop's origin) and photometric distortions;
     * auxiliary losses weighted 0.3. The base lr is not in the paper: 0.01
     * is the Caffe reference solver's. */
    {"googlenet", "Szegedy et al. 2014, sec. 6", 128, 90, "sgd", 0.01f, 0.9f, 2e-4f, 0,
     "exp:0.96:8", 0, 0.3f, "resized-crop", 0.4f, 0, false, 0},
    /* He et al. 2015, section 3.4, as torchvision's reference script runs
     * it: batch 256, lr 0.1 divided by 10 every 30 epochs, momentum 0.9,
     * weight decay 1e-4, 90 epochs, RandomResizedCrop and flips. */
    {"resnet", "He et al. 2015, sec. 3.4; torchvision references", 256, 90, "sgd", 0.1f, 0.9f,
     1e-4f, 0, "step:30:0.1", 0, 0, "resized-crop", 0, 0, false, 0},
    /* Szegedy et al. 2015 (Inception-v3), section 8: batch 32, RMSProp
     * decay 0.9 and epsilon 1.0, lr 0.045 decayed by 0.94 every 2 epochs,
     * label smoothing 0.1, the auxiliary classifier weighted 0.4. */
    {"inception_v3", "Szegedy et al. 2015, sec. 8", 32, 100, "rmsprop-tf", 0.045f, 0.9f, 4e-5f,
     1.0f, "exp:0.94:2", 0.1f, 0.4f, "resized-crop", 0, 0, false, 0},
    /* Sandler et al. 2018 (MobileNetV2), section 6.1: RMSProp decay 0.9
     * and momentum 0.9, weight decay 4e-5, lr 0.045 decayed by 0.98 every
     * epoch, batch 96. */
    {"mobilenet", "Sandler et al. 2018, sec. 6.1", 96, 300, "rmsprop-tf", 0.045f, 0.9f, 4e-5f, 0,
     "exp:0.98:1", 0, 0, "resized-crop", 0, 0, false, 0},
    /* Tan & Le 2019, section 5.2: RMSProp decay 0.9 and momentum 0.9,
     * BatchNorm momentum 0.99 (TensorFlow's decay: 0.01 in PyTorch's
     * convention), weight decay 1e-5, lr 0.256 decayed by 0.97 every 2.4
     * epochs for batch 4096, label smoothing 0.1; the model itself applies
     * stochastic depth (survival 0.8 at the last block) and dropout 0.2.
     * AutoAugment is not reproduced. */
    {"efficientnet", "Tan & Le 2019, sec. 5.2", 4096, 350, "rmsprop-tf", 0.256f, 0.9f, 1e-5f, 0,
     "exp:0.97:2.4", 0.1f, 0, "resized-crop", 0, 0, false, 0.01f},
};

const cz_recipe *cz_recipe_find(const char *name)
{
    for (size_t i = 0; i < sizeof recipes / sizeof recipes[0]; i++)
        if (strcmp(recipes[i].name, name) == 0)
            return &recipes[i];
    return NULL;
}

const char *cz_recipe_names(void)
{
    return "alexnet, vgg, googlenet, resnet, inception_v3, mobilenet, efficientnet";
}
