// Vision on real clip art: the openclipart dataset (bash scripts/data.sh openclipart links 8
// categories of Debian's openclipart-png into train/ and valid/ folders; with --all, the
// openclipart_all set: all 22 categories, every clip art), read with
// ImageDataLoaders.from_folder, Resize + aug_transforms, vision_learner(resnet18), fit_one_cycle,
// interpretation (confusion matrix, top losses), then export -> load_learner -> predict, as a
// deployed program would use the model.
//
//   vision_openclipart [--all] [--epochs 4] [--lr 2e-3] [--size 64] [--bs 32] [--seed 42] [--out out/vision_openclipart]
#include <fastai/vision.h>

#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  using namespace fastai;
  int epochs = 4;
  double lr = 2e-3;
  int64_t size = 64, bs = 32;
  uint64_t seed = 42;
  std::string out = "out/vision_openclipart";
  const char* dataset = URLs::OPENCLIPART;
  const auto usage = [] {
    std::cerr << "usage: vision_openclipart [--all] [--epochs N] [--lr X] [--size N] [--bs N] [--seed N] [--out DIR]\n";
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--all") {
      dataset = URLs::OPENCLIPART_ALL;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (a == "--epochs") epochs = std::atoi(v);
    else if (a == "--lr") lr = std::atof(v);
    else if (a == "--size") size = std::atoll(v);
    else if (a == "--bs") bs = std::atoll(v);
    else if (a == "--seed") seed = std::strtoull(v, nullptr, 10);
    else if (a == "--out") out = v;
    else return usage();
  }
  try {
    set_seed(seed);
    auto path = untar_data(dataset);
    auto dls = ImageDataLoaders::from_folder(path, {.seed = seed,
                                                    .item_tfms = {std::make_shared<Resize>(size)},
                                                    .batch_tfms = aug_transforms(),
                                                    .bs = bs});
    std::cout << "classes: ";
    for (const auto& c : dls.vocab()) std::cout << c << " ";
    std::cout << "\n" << dls.train().n() << " training and " << dls.valid().n() << " validation images\n";
    dls.show_batch({.max_n = 16, .path = out + "/batch.png"});
    auto learn = vision_learner(dls, resnet18, {.metrics = {accuracy}, .path = out});
    learn.fit_one_cycle(epochs, lr);
    show_results(learn, {.max_n = 16, .path = out + "/results.png"});
    auto interp = ClassificationInterpretation::from_learner(learn);
    interp.plot_confusion_matrix(out + "/confusion.png");
    interp.plot_top_losses(9, out + "/top_losses.png");
    std::cout << interp.classification_report();
    // Deployment: everything prediction needs in one file, read back without the data.
    const auto file = learn.export_to("openclipart.fai");
    auto inf = load_learner(file);
    const auto one = (path / "valid" / dls.vocab()[0]).string();
    for (const auto& f : get_image_files(one)) {
      auto [label, pred, probs] = inf.predict(Item(f));
      std::cout << "predict(" << f.filename().string() << ") = " << label << " (p = " << probs[pred.item<int64_t>()].item<double>()
                << ")\n";
      break;
    }
    std::cout << "batch, results, confusion, top_losses -> " << out << "/*.png; model -> " << file.string() << "\n";
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
