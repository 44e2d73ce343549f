// fastai-cpp with the vision application (fastai's `from fastai.vision.all import *`).
#pragma once
#include "fastai/all.h"
#include "fastai/vision/augment.h"
#include "fastai/vision/batch_augment.h"
#include "fastai/vision/bbox.h"
#include "fastai/vision/data.h"
#include "fastai/vision/factories.h"
#include "fastai/vision/image.h"
#include "fastai/vision/learner.h"
#include "fastai/vision/seg_metrics.h"
#include "fastai/vision/segmentation.h"
#include "fastai/vision/unet.h"
