// Collaborative filtering on movielens (R's dslabs, converted by scripts/data.sh) with the fastai
// paper's recipe: EmbeddingDotBias with 50 factors, y_range (0, 5.5), fit_one_cycle(5, 5e-3, wd 0.1).
//
//   collab_movielens [--epochs 5] [--lr 5e-3] [--wd 0.1] [--seed 42] [--nn]
#include <fastai/collab.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

int main(int argc, char** argv) {
  using namespace fastai;
  int epochs = 5;
  double lr = 5e-3, wd = 0.1;
  uint64_t seed = 42;
  bool use_nn = false;
  for (int i = 1; i < argc; ++i) {
    auto next = [&] { return i + 1 < argc ? argv[++i] : (std::cerr << argv[i] << " needs a value\n", std::exit(2), ""); };
    if (!std::strcmp(argv[i], "--epochs")) epochs = std::atoi(next());
    else if (!std::strcmp(argv[i], "--lr")) lr = std::atof(next());
    else if (!std::strcmp(argv[i], "--wd")) wd = std::atof(next());
    else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(next(), nullptr, 10);
    else if (!std::strcmp(argv[i], "--nn")) use_nn = true;
    else { std::cerr << "usage: collab_movielens [--epochs N] [--lr X] [--wd X] [--seed N] [--nn]\n"; return 2; }
  }
  try {
    set_seed(seed);
    auto dls = CollabDataLoaders::from_csv(untar_data(URLs::MOVIELENS) / "ratings.csv", {.seed = seed, .bs = 64});
    dls.show_batch(5);
    auto learn = collab_learner(dls, {.n_factors = 50, .use_nn = use_nn, .y_range = std::pair{0.0, 5.5}});
    learn.fit_one_cycle(epochs, lr, {.wd = wd});
    std::cout << "validation MSE: " << learn.validate()[0] << "\n";
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
