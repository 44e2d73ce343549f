// predict: the deployment side of learn.export_to in one native binary. Loads an exported vision
// learner (load_learner) and prints the decoded prediction and its probability for each file.
//
//   build/tools/predict MODEL.fai FILE...        one line per file: "<file>\t<label>\t<probability>"
//   build/tools/predict MODEL.fai --probs FILE... the whole probability vector too, by class name
#include "fastai/learner/export.h"
#include "fastai/learner/learner.h"
#include "fastai/vision.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.fai [--probs] FILE...\n", argv[0]);
    return 2;
  }
  bool probs = false;
  std::vector<std::string> files;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--probs") == 0) probs = true;
    else files.emplace_back(argv[i]);
  }
  try {
    auto learn = fastai::load_learner(argv[1]);
    const auto* vocab = learn.dls.train().vocab();
    int failed = 0;
    for (const auto& f : files) {
      try {
        auto [label, pred, p] = learn.predict(fastai::Item(f));
        const double top = pred.numel() == 1 && p.dim() == 1 ? p[pred.item<int64_t>()].item<double>() : p.max().item<double>();
        std::printf("%s\t%s\t%.4f", f.c_str(), label.c_str(), top);
        if (probs && p.dim() == 1)
          for (int64_t c = 0; c < p.size(0); ++c)
            std::printf("\t%s=%.4f", vocab && c < static_cast<int64_t>(vocab->size()) ? (*vocab)[static_cast<size_t>(c)].c_str()
                                                                                      : std::to_string(c).c_str(),
                        p[c].item<double>());
        std::printf("\n");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "predict: %s\n", e.what());
        ++failed;
      }
    }
    return failed ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "predict: %s\n", e.what());
    return 1;
  }
}
