// fastai-cpp with the collaborative filtering application (fastai's `from fastai.collab import *`).
#pragma once
#include "fastai/collab/collab.h"
#include "fastai/tabular.h"
