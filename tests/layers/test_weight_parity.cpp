// Weights trained in Python load into the C++ models: torchvision's resnet34 state_dict, saved by
// torch.save in a temporary folder (tests/layers/torchvision_parity.py, /usr/bin/python3 with
// python3-torchvision, which scripts/setup.sh installs), loads by name into fastai::resnet34 and
// gives torchvision's output to 1e-5.
#include <fastai/io/state_dict_io.h>
#include <fastai/layers/resnet.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>

#include "test_util.h"

namespace fastai::testing {

TEST(WeightParity, TorchvisionResnet34MatchesPython) {
  TmpDir tmp;
  const std::string script = std::string(FASTAI_TEST_SOURCE_DIR) + "/layers/torchvision_parity.py";
  const std::string cmd = "/usr/bin/python3 '" + script + "' '" + tmp.p.string() + "' > '" +
                          (tmp.p / "log.txt").string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "the Python side failed; see " << cmd
                                         << " (needs python3-torch and python3-torchvision: bash scripts/setup.sh)";
  auto model = resnet34();
  auto res = load_state_dict(*model, load_pth(tmp.p / "resnet34.pth"));
  EXPECT_TRUE(res.missing_keys.empty());
  EXPECT_TRUE(res.unexpected_keys.empty());
  auto io = state_dict_map(load_pth(tmp.p / "io.pth"));
  model->eval();
  torch::NoGradGuard no_grad;
  at::Tensor y = model->forward(io.at("x"));
  const at::Tensor& want = io.at("y");
  ASSERT_EQ(y.sizes(), want.sizes());
  const double err = (y - want).abs().max().item<double>();
  const double scale = want.abs().max().item<double>();
  std::printf("resnet34 C++ vs torchvision: max abs difference %.3g (outputs up to %.3g)\n", err, scale);
  EXPECT_LT(err, 1e-5 * std::max(1.0, scale)) << "max |C++ - Python| = " << err << " (|y| up to " << scale << ")";
}

}  // namespace fastai::testing
