// Vision end to end: Fashion-MNIST as an image-folder dataset (bash scripts/data.sh
// fashion_mnist_png writes it), ImageDataLoaders.from_folder with batch augmentation,
// vision_learner(xresnet18) on 1-channel images, fit_one_cycle, then the confusion matrix.
//
//   vision_fmnist [--epochs 1] [--lr 3e-3] [--bs 128] [--seed 42] [--out out/vision_fmnist]
#include <fastai/vision.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

int main(int argc, char** argv) {
  using namespace fastai;
  int epochs = 1;
  double lr = 3e-3;
  int64_t bs = 128;
  uint64_t seed = 42;
  std::string out = "out/vision_fmnist";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--epochs")) epochs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--lr")) lr = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--bs")) bs = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--out")) out = argv[i + 1];
    else { std::cerr << "usage: vision_fmnist [--epochs N] [--lr X] [--bs N] [--seed N] [--out DIR]\n"; return 2; }
  }
  try {
    set_seed(seed);
    auto path = untar_data(URLs::FASHION_MNIST_PNG);
    auto dls = ImageDataLoaders::from_folder(path, {.seed = seed, .img_mode = ImageMode::L,
                                                    .batch_tfms = aug_transforms({.max_warp = 0}), .bs = bs});
    dls.show_batch({.max_n = 9, .path = out + "/batch.png"});
    auto learn = vision_learner(dls, xresnet18, {.n_in = 1, .metrics = {accuracy}, .path = out});
    learn.fit_one_cycle(epochs, lr);
    show_results(learn, {.path = out + "/results.png"});
    auto interp = ClassificationInterpretation::from_learner(learn);
    interp.plot_confusion_matrix(out + "/confusion.png");
    std::cout << interp.classification_report() << "batch -> " << out << "/batch.png, results -> " << out << "/results.png, confusion matrix -> " << out
              << "/confusion.png\n";
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
