// Segmentation end to end on a SYNTHETIC set (no download): make_synthetic_segmentation draws
// circles, rectangles and triangles (random colours, noisy textures) on noisy canvases with
// their masks, SegmentationDataLoaders.from_label_func serves them, and unet_learner trains a
// DynamicUnet on a ResNet / XResNet body with fit_one_cycle (fastai's CamVid example, small).
// Prints the per-epoch table and the final pixel accuracy, foreground accuracy and Dice; writes
// the generated data set (under the system's temp folder, rewritten on each run) and, under
// --out, batch.png (show_batch: masks over the images) and results.png (target vs prediction).
//
//   unet_synthetic [--n 200] [--size 64] [--epochs 12] [--lr 5e-3] [--bs 8] [--seed 42]
//                  [--arch resnet18|resnet34|xresnet18|xresnet_small]
//                  [--fashion 0|1]        paste Fashion-MNIST items instead of shapes (needs the data)
//                  [--class_colours 0|1]  one fixed colour per class (an easier set)
//                  [--out out/unet_synthetic]
#include <fastai/vision.h>
#include <fastai/vision/seg_metrics.h>
#include <fastai/vision/segmentation.h>
#include <fastai/vision/unet.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

namespace {

// A narrow XResNet (stem 16, 16, 64; stage widths 16, 32, 64, 128, one block each) for quick CPU runs.
fastai::XResNet xresnet_small(fastai::XResNetOptions o) {
  o.stem_szs = {16, 16, 64};  // XResNet's first stage takes 64 channels
  o.widen = 0.25;
  return fastai::XResNet(1, {1, 1, 1, 1}, o);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fastai;
  int64_t n = 200, size = 64, epochs = 12, bs = 8;
  double lr = 5e-3;
  uint64_t seed = 42;
  std::string arch = "xresnet_small", out = "out/unet_synthetic";
  bool fashion = false, class_colours = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--n")) n = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--size")) size = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--epochs")) epochs = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--bs")) bs = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--lr")) lr = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--arch")) arch = argv[i + 1];
    else if (!std::strcmp(argv[i], "--out")) out = argv[i + 1];
    else if (!std::strcmp(argv[i], "--fashion")) fashion = std::atoi(argv[i + 1]) != 0;
    else if (!std::strcmp(argv[i], "--class_colours")) class_colours = std::atoi(argv[i + 1]) != 0;
    else {
      std::cerr << "usage: unet_synthetic [--n N] [--size PX] [--epochs N] [--lr LR] [--bs N] [--seed N] "
                   "[--arch resnet18|resnet34|xresnet18|xresnet_small] [--fashion 0|1] [--class_colours 0|1] [--out DIR]\n";
      return 2;
    }
  }
  try {
    set_seed(seed);
    std::string name = "fastai_unet_synthetic_";
    name += std::to_string(n) + "_" + std::to_string(size) + "_" + std::to_string(seed);
    if (fashion) name += "_fashion";
    if (class_colours) name += "_colours";
    const auto dir = std::filesystem::temp_directory_path() / name;
    auto set = make_synthetic_segmentation(dir, n, {.size = size, .seed = seed, .fashion_mnist = fashion,
                                                    .class_colours = class_colours});
    std::cout << "SYNTHETIC segmentation set: " << n << " images " << size << "x" << size << " in " << dir.string()
              << "\ncodes:";
    for (const auto& c : set.codes) std::cout << " " << c;
    std::cout << "\n";
    auto dls = SegmentationDataLoaders::from_label_func(dir, set.images, synthetic_label_func,
                                                        {.codes = set.codes, .seed = seed,
                                                         .batch_tfms = {Flip(0.5)}, .bs = bs, .num_workers = 0});
    dls.show_batch({.max_n = 9, .path = out + "/batch.png"});
    std::vector<MetricRef> metrics = {Accuracy(1), foreground_acc, DiceMulti()};
    UnetLearnerOptions uo{.metrics = metrics};
    auto make = [&]() -> Learner {
      if (arch == "resnet18") return unet_learner(dls, resnet18, uo);
      if (arch == "resnet34") return unet_learner(dls, resnet34, uo);
      if (arch == "xresnet18") return unet_learner(dls, xresnet18, uo);
      if (arch == "xresnet_small") return unet_learner(dls, xresnet_small, uo);
      fail("unet_synthetic: unknown --arch ", arch);
    };
    Learner learn = make();
    int64_t n_params = 0;
    for (const auto& p : learn.model.module->parameters()) n_params += p.numel();
    std::cout << "unet_learner(" << arch << "): " << n_params << " parameters\n";
    // all-background baseline of the validation masks
    int64_t bg = 0, total = 0;
    for (auto& b : dls.valid()) {
      auto y = tensor_of(b[1]);
      bg += (y == 0).sum().item<int64_t>();
      total += y.numel();
    }
    learn.fit_one_cycle(static_cast<int>(epochs), lr);
    auto res = learn.validate();
    std::cout << "valid loss " << res[0] << ", pixel accuracy " << res[1] << " (all-background "
              << static_cast<double>(bg) / static_cast<double>(total) << "), foreground accuracy " << res[2]
              << ", dice_multi " << res[3] << "\n";
    show_results(learn, {.max_n = 4, .path = out + "/results.png"});
    std::cout << "batch -> " << out << "/batch.png, results -> " << out << "/results.png\n";
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
