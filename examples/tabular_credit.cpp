// Tabular classification on credit_data (R's modeldata, converted by scripts/data.sh): the
// paper's tabular example — procs, TabularDataLoaders.from_csv, tabular_learner, fit_one_cycle,
// show_batch, and predict on a raw row.
//
//   tabular_credit [--epochs 3] [--lr 1e-2] [--seed 42]
#include <fastai/tabular.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

int main(int argc, char** argv) {
  using namespace fastai;
  int epochs = 3;
  double lr = 1e-2;
  uint64_t seed = 42;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--epochs")) epochs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--lr")) lr = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(argv[i + 1], nullptr, 10);
    else { std::cerr << "usage: tabular_credit [--epochs N] [--lr X] [--seed N]\n"; return 2; }
  }
  try {
    set_seed(seed);
    auto path = untar_data(URLs::CREDIT);
    auto dls = TabularDataLoaders::from_csv(path / "credit_data.csv", {
        .procs = {Categorify(), FillMissing(), Normalize()},
        .cat_names = {"Home", "Marital", "Records", "Job"},
        .cont_names = {"Seniority", "Age", "Income", "Expenses", "Assets", "Debt", "Amount", "Price", "Time"},
        .y_names = {"Status"}, .valid_idx = range(3500, 4454), .bs = 64});
    dls.show_batch(5);
    auto learn = tabular_learner(dls, {.metrics = {accuracy}});
    learn.fit_one_cycle(epochs, lr);
    auto p = learn.predict({{"Home", "owner"}, {"Marital", "married"}, {"Records", "no"}, {"Job", "fixed"},
                            {"Seniority", "10"}, {"Age", "40"}, {"Income", "150"}, {"Expenses", "60"},
                            {"Assets", "5000"}, {"Debt", "0"}, {"Amount", "1000"}, {"Price", "1500"}, {"Time", "36"}});
    std::cout << "predict(owner, married, fixed job, 10 years): " << p.decoded << " (p = " << p.probs.max().item<double>()
              << ")\n";
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
