// load_pth / load_safetensors / save_safetensors / load_state_dict against files PyTorch 1.13 wrote
// (tests/io/gen_state_dict_fixtures.py): every dtype, views sharing a storage, 0-d and empty
// tensors, fastai's learn.save dict, exact values; loading into torch::nn modules (strict, lenient,
// shape mismatch); every input error naming the file.
#include "test_util.h"
#include "fastai/core/error.h"
#include "fastai/io/state_dict_io.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace state_dict_io_test {

namespace fs = std::filesystem;
using fastai::StateDict;
using fastai::testing::expect_error;
using fastai::testing::TmpDir;
using namespace std::string_literals;

fs::path fixture(const std::string& name) { return fs::path(FASTAI_TEST_SOURCE_DIR) / "io" / "fixtures" / name; }

const nlohmann::json& expected() {
  static const nlohmann::json j = [] {
    std::ifstream f(fixture("state_dict_expected.json"));
    if (!f) throw std::runtime_error("cannot open " + fixture("state_dict_expected.json").string());
    return nlohmann::json::parse(f);
  }();
  return j;
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Names in order, dtypes, shapes, contiguity and every value, exactly.
void expect_matches(const StateDict& sd, const nlohmann::json& exp) {
  static const std::map<std::string, at::ScalarType> dtypes = {
      {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
      {"int64", at::kLong},    {"int32", at::kInt},      {"int16", at::kShort},  {"int8", at::kChar},
      {"uint8", at::kByte},    {"bool", at::kBool}};
  ASSERT_EQ(sd.size(), exp.size());
  for (size_t k = 0; k < sd.size(); ++k) {
    const auto& [name, t] = sd[k];
    const auto& e = exp[k];
    SCOPED_TRACE(name);
    EXPECT_EQ(name, e["name"].get<std::string>());
    EXPECT_EQ(t.scalar_type(), dtypes.at(e["dtype"].get<std::string>()));
    EXPECT_EQ(t.sizes().vec(), e["shape"].get<std::vector<int64_t>>());
    EXPECT_TRUE(t.is_contiguous());
    const auto& vals = e["values"];
    ASSERT_EQ(static_cast<size_t>(t.numel()), vals.size());
    if (at::isFloatingType(t.scalar_type())) {
      const at::Tensor d = t.to(at::kDouble).reshape(-1);
      for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(d[i].item<double>(), vals[size_t(i)].get<double>()) << i;
    } else {
      const at::Tensor d = t.to(at::kLong).reshape(-1);
      for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(d[i].item<int64_t>(), vals[size_t(i)].get<int64_t>()) << i;
    }
  }
}

TEST(PthLoad, TinyModelStateDictPickleProtocols2And4) {
  expect_matches(fastai::load_pth(fixture("tiny_model.pth")), expected()["tiny_model"]);
  expect_matches(fastai::load_pth(fixture("tiny_model_p4.pth")), expected()["tiny_model"]);
}

TEST(PthLoad, EveryDtypeViewsScalarEmptyAndParameter) {
  const StateDict sd = fastai::load_pth(fixture("mixed.pth"));
  expect_matches(sd, expected()["mixed"]);
  const auto m = fastai::state_dict_map(sd);
  // Views come out as independent tensors: writing one leaves the others alone.
  m.at("col").fill_(9);
  EXPECT_NE(m.at("base")[0][1].item<float>(), 9.0f);
  EXPECT_EQ(m.at("scalar").dim(), 0);
}

TEST(PthLoad, FastaiLearnerSaveGivesTheModelPart) {
  expect_matches(fastai::load_pth(fixture("fastai_learner.pth")), expected()["tiny_model"]);
}

TEST(Safetensors, SameTensorsAsThePth) {
  expect_matches(fastai::load_safetensors(fixture("mixed.safetensors")), expected()["mixed"]);
}

/// The bytes after a safetensors file's header.
std::string st_data(const std::string& file) {
  uint64_t h = 0;
  for (int k = 7; k >= 0; --k) h = (h << 8) | static_cast<unsigned char>(file.at(size_t(k)));
  return file.substr(8 + h);
}

TEST(Safetensors, SaveThenLoadRoundTrips) {
  TmpDir tmp;
  const StateDict sd = fastai::load_pth(fixture("mixed.pth"));
  fastai::save_safetensors(sd, tmp.p / "m.safetensors");
  expect_matches(fastai::load_safetensors(tmp.p / "m.safetensors"), expected()["mixed"]);
  // The same data section as the file Python wrote.
  EXPECT_EQ(st_data(bytes_of(tmp.p / "m.safetensors")), st_data(bytes_of(fixture("mixed.safetensors"))));
  expect_error([&] { fastai::save_safetensors({{"a", at::zeros({1})}, {"a", at::zeros({1})}}, tmp.p / "x"); },
               {"save_safetensors", "'a'", "twice"});
}

std::string st_file(const std::string& header, const std::string& data) {
  std::string s;
  for (int k = 0; k < 8; ++k) s += static_cast<char>((uint64_t(header.size()) >> (8 * k)) & 0xff);
  return s + header + data;
}

TEST(Safetensors, BadFilesNameTheFileAndTheProblem) {
  TmpDir tmp;
  auto load = [&](const std::string& name, const std::string& bytes) {
    return [&tmp, name, bytes] { fastai::load_safetensors(tmp.write(name, bytes)); };
  };
  expect_error([&] { fastai::load_safetensors(tmp.p / "none.safetensors"); }, {"none.safetensors", "no such file"});
  expect_error(load("short.st", "abc"), {"short.st", "shorter than the 8-byte header"});
  expect_error(load("len.st", st_file("{}", "").substr(0, 9)), {"len.st", "header length 2", "truncated"});
  expect_error(load("json.st", st_file("{\"a\":", "")), {"json.st", "not JSON"});
  expect_error(load("arr.st", st_file("[1]", "")), {"arr.st", "expected a JSON object"});
  const std::string four(4, '\0');
  expect_error(load("dt.st", st_file(R"({"a":{"dtype":"C64","shape":[1],"data_offsets":[0,4]}})", four)),
               {"dt.st", "'a'", "unsupported dtype 'C64'"});
  expect_error(load("off.st", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", four)),
               {"off.st", "'a'", "outside the 4 bytes"});
  expect_error(load("size.st", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", four)),
               {"size.st", "'a'", "4 bytes of data", "expected 8"});
  expect_error(load("keys.st", st_file(R"({"a":{"dtype":"F32"}})", four)), {"keys.st", "{dtype, shape, data_offsets}"});
  expect_error(load("neg.st", st_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", four)),
               {"neg.st", "not a size"});
}

torch::nn::Sequential tiny_model(int64_t out = 2) { return torch::nn::Sequential(torch::nn::Linear(3, out), torch::nn::BatchNorm1d(out)); }

TEST(PthLoadStateDict, IntoTheSameTorchNnModel) {
  auto model = tiny_model();
  const StateDict sd = fastai::load_pth(fixture("tiny_model.pth"));
  const auto r = fastai::load_state_dict(*model, sd);
  EXPECT_TRUE(r.missing_keys.empty());
  EXPECT_TRUE(r.unexpected_keys.empty());
  auto params = model->named_parameters();
  auto bufs = model->named_buffers();
  for (const auto& [name, t] : sd) {
    SCOPED_TRACE(name);
    const at::Tensor* p = params.find(name);
    if (!p) p = bufs.find(name);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(at::equal(p->to(t.scalar_type()), t));
  }
  EXPECT_TRUE(model[0]->as<torch::nn::Linear>()->weight.requires_grad());
}

TEST(PthLoadStateDict, StrictErrorsAndLenientResult) {
  const StateDict sd = fastai::load_pth(fixture("tiny_model.pth"));
  auto bigger = torch::nn::Sequential(torch::nn::Linear(3, 2), torch::nn::BatchNorm1d(2), torch::nn::Linear(2, 1));
  expect_error([&] { fastai::load_state_dict(*bigger, sd); }, {"missing keys '2.weight', '2.bias'", "strict = false"});
  auto smaller = torch::nn::Sequential(torch::nn::Linear(3, 2));
  expect_error([&] { fastai::load_state_dict(*smaller, sd); },
               {"unexpected keys '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked'"});
  auto wrong = tiny_model(4);
  expect_error([&] { fastai::load_state_dict(*wrong, sd); },
               {"shape mismatch", "'0.weight' (checkpoint [2, 3], module [4, 3])", "and 1 more"});

  const auto r = fastai::load_state_dict(*smaller, sd, {.strict = false});
  EXPECT_TRUE(r.missing_keys.empty());
  EXPECT_EQ(r.unexpected_keys.size(), 5u);
  EXPECT_TRUE(at::equal(smaller[0]->as<torch::nn::Linear>()->weight, fastai::state_dict_map(sd).at("0.weight")));
  const auto r2 = fastai::load_state_dict(*bigger, sd, {.strict = false});
  EXPECT_EQ(r2.missing_keys, (std::vector<std::string>{"2.weight", "2.bias"}));
}

TEST(PthErrors, BadFilesNameTheFileAndTheProblem) {
  TmpDir tmp;
  expect_error([&] { fastai::load_pth(tmp.p / "none.pth"); }, {"load_pth", "none.pth", "no such file"});
  expect_error([&] { fastai::load_pth(tmp.write("empty.pth", "")); }, {"empty.pth", "empty"});
  expect_error([&] { fastai::load_pth(tmp.write("text.pth", "hello")); }, {"text.pth", "not a zip"});
  expect_error([&] { fastai::load_pth(tmp.write("legacy.pth", "\x80\x02}q\x00.")); }, {"legacy.pth", "legacy"});
  const std::string whole = bytes_of(fixture("tiny_model.pth"));
  expect_error([&] { fastai::load_pth(tmp.write("cut.pth", whole.substr(0, whole.size() / 2))); },
               {"cut.pth", "truncated or corrupt"});
  expect_error([&] { fastai::load_pth(fixture("bad_opcode.pth")); },
               {"bad_opcode.pth", "unknown pickle opcode 0xff at offset 5"});
  expect_error([&] { fastai::load_pth(fixture("short_data.pth")); }, {"short_data.pth", "data/0", "truncated"});
  expect_error([&] { fastai::load_pth(fixture("unsupported.pth")); },
               {"unsupported.pth", "entry 'frac'", "'fractions.Fraction'", "unsupported global"});
  expect_error([&] { fastai::load_pth(fixture("whole_module.pth")); },
               {"whole_module.pth", "torch.nn.modules.container.Sequential", "model.state_dict()"});
}

StateDict unpickle(const std::string& bytes) {
  auto no_storage = [](const std::string& key, at::ScalarType) -> at::Tensor {
    throw std::runtime_error("no storage " + key);
  };
  return fastai::pth_detail::unpickle_state_dict(bytes, "t.pkl", no_storage);
}

TEST(PthPickle, HandMadePickles) {
  // {'a': {}} (protocol 2, SHORT_BINUNICODE is protocol 4 but read too) -> 'a' is not a tensor.
  expect_error([] { unpickle("\x80\x02}q\x00X\x01\x00\x00\x00"s + "a}s."); },
               {"t.pkl", "entry 'a' is a dict, expected a tensor"});
  EXPECT_TRUE(unpickle("\x80\x04}\x94."s).empty());
  expect_error([] { unpickle("\x80\x02I1\n."); }, {"t.pkl", "unsupported pickle opcode INT ('I')", "offset 2"});
  expect_error([] { unpickle("\x80\x02}X\x09"); }, {"t.pkl", "the pickle ends early"});
  expect_error([] { unpickle("\x80\x02h\x03."); }, {"t.pkl", "memo entry 3"});
  expect_error([] { unpickle("\x80\x02K\x01."); }, {"t.pkl", "expected a dict of tensors", "an int"});
  expect_error([] { unpickle("\x80\x02."); }, {"t.pkl", "stack is empty"});
    // A pid naming a storage type this reader does not know.
  expect_error([] { unpickle("\x80\x02(X\x07\x00\x00\x00storagectorch\nComplexFloatStorage\nX\x01\x00\x00\x00"s +
                             "0X\x03\x00\x00\x00"s + "cpuK\x01tQ."); },
               {"t.pkl", "unsupported storage type 'torch.ComplexFloatStorage'"});
}

}  // namespace state_dict_io_test
