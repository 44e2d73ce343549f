// fastai-cpp with the tabular application (fastai's `from fastai.tabular.all import *`).
#pragma once
#include "fastai/all.h"
#include "fastai/tabular/core.h"
#include "fastai/tabular/data.h"
#include "fastai/tabular/learner.h"
#include "fastai/tabular/procs.h"
