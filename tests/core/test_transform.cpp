// Transform and Pipeline: type dispatch (most derived wins, pass-through, user types and
// overloads), split_idx, ItemTransform, class-wide extensions, order, composed setup, decode,
// state round trips by name, and the errors.
#include "test_util.h"
#include "fastai/core/pipeline.h"
#include "fastai/core/transform.h"
#include "fastai/core/types.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace transform_test {

using namespace fastai;  // NOLINT: test file
using fastai::testing::expect_error;

// A user type, and a user transform defined without touching the library.
struct Heat {
  double celsius = 0;
};

// Adds `amount` to images; decodes subtracts. Registered by name so pipelines can be rebuilt.
class AddTo : public Transform {
 public:
  explicit AddTo(double amount = 0, int order = 0) : Transform("AddTo", order), amount_(amount) {
    encodes<TensorImage>([this](const TensorImage& x) { return TensorImage(x.data + amount_); });
    decodes<TensorImage>([this](const TensorImage& x) { return TensorImage(x.data - amount_); });
  }
  nlohmann::json state() const override { return {{"amount", amount_}}; }
  void load_state(const nlohmann::json& s) override { amount_ = s.at("amount").get<double>(); }

 private:
  double amount_;
};

// Records the items its setup saw, and appends its tag to strings.
class Tagger : public Transform {
 public:
  Tagger(std::string tag, int order) : Transform("Tagger", order), tag_(std::move(tag)) {
    encodes<std::string>([this](const std::string& s) { return s + tag_; });
  }
  std::vector<std::string> seen;

 protected:
  void setups(const std::vector<Item>& items, const Pipeline*) override {
    for (const auto& x : items) seen.push_back(x.get<std::string>());
  }

 private:
  std::string tag_;
};

double first(const Item& x) { return tensor_of(x).flatten()[0].item<double>(); }

TEST(Transform, MostDerivedOverloadWinsAndOthersPassThrough) {
  auto t = std::make_shared<Transform>("T");
  t->encodes<TensorImage>([](const TensorImage& x) { return TensorImage(x.data + 1); });
  t->encodes<TensorImageBW>([](const TensorImageBW& x) { return TensorImageBW(x.data + 100); });
  t->encodes<at::Tensor>([](const at::Tensor& x) { return x * 0; });
  Tuple in{TensorImage(at::zeros({3, 2, 2})), TensorImageBW(at::zeros({1, 2, 2})), Category{"cat"},
           TensorMask(at::ones({2, 2}, at::kLong)), std::string("s")};
  Tuple out = (*t)(in);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].type_name(), "TensorImage");
  EXPECT_EQ(first(out[0]), 1.0);
  EXPECT_EQ(out[1].type_name(), "TensorImageBW");
  EXPECT_EQ(first(out[1]), 100.0);
  EXPECT_TRUE(out[2].same(in[2]));  // no overload: the very same item
  EXPECT_TRUE(out[4].same(in[4]));
  // the at::Tensor overload applies to a mask (a TensorBase) and the result keeps the mask type
  EXPECT_EQ(out[3].type_name(), "TensorMask");
  EXPECT_EQ(first(out[3]), 0.0);
  // a single item is transformed directly
  EXPECT_EQ(first((*t)(Item(TensorImage(at::zeros({1}))))), 1.0);
}

TEST(Transform, BaseOverloadResultIsCastBackToTheSubtype) {
  auto t = std::make_shared<Transform>();
  t->encodes<TensorImage>([](const TensorImage& x) { return TensorImage(x.data * 2); });
  Item r = (*t)(Item(TensorImageBW(at::ones({1, 2, 2}))));
  EXPECT_EQ(r.type_name(), "TensorImageBW");  // fastai retain_type
  EXPECT_EQ(first(r), 2.0);
}

TEST(Transform, UserTypeAndUserOverload) {
  register_type<Heat>("Heat");
  auto t = std::make_shared<Transform>("ToFahrenheit");
  t->encodes<Heat>([](const Heat& h) { return Heat{h.celsius * 9 / 5 + 32}; });
  t->decodes<Heat>([](const Heat& h) { return Heat{(h.celsius - 32) * 5 / 9}; });
  Tuple out = (*t)(Tuple{Heat{100}, Category{"boil"}});
  EXPECT_EQ(out[0].get<Heat>().celsius, 212);
  EXPECT_EQ(out[1].get<Category>().label, "boil");
  EXPECT_EQ(t->decode(out)[0].get<Heat>().celsius, 100);
  EXPECT_TRUE(t->has_encodes(typeid(Heat)));
  EXPECT_FALSE(t->has_encodes(typeid(Category)));
}

TEST(Transform, NestedTuplesAreMappedRecursively) {
  auto t = std::make_shared<Transform>();
  t->encodes<std::string>([](const std::string& s) { return s + "!"; });
  Tuple out = (*t)(Tuple{std::string("a"), Tuple{std::string("b"), 3}});
  EXPECT_EQ(out[0].get<std::string>(), "a!");
  EXPECT_EQ(out[1].get<Tuple>()[0].get<std::string>(), "b!");
  EXPECT_EQ(out[1].get<Tuple>()[1].get<int>(), 3);
}

TEST(Transform, SplitIdxFollowsFastai) {
  auto t = std::make_shared<AddTo>(1.0);
  Item x = TensorImage(at::zeros({1}));
  EXPECT_EQ(first((*t)(x)), 1.0);  // no split_idx: always
  EXPECT_EQ(first((*t)(x, 1)), 1.0);
  t->split_idx = 0;  // train only
  EXPECT_EQ(first((*t)(x, 0)), 1.0);
  EXPECT_EQ(first((*t)(x, 1)), 0.0);
  EXPECT_EQ(first((*t)(x)), 0.0);  // a call without a split skips it too (fastai)
  EXPECT_EQ(first(t->decode(x, 1)), 0.0);
  t->split_idx = 1;  // valid only
  EXPECT_EQ(first((*t)(x, 1)), 1.0);
  EXPECT_EQ(first((*t)(x, 0)), 0.0);
  Pipeline p({t}, 1);
  EXPECT_EQ(first(p(x)), 1.0);
  p.split_idx = 0;
  EXPECT_EQ(first(p(x)), 0.0);
}

TEST(Transform, ItemTransformGetsTheWholeTuple) {
  auto swap = std::make_shared<ItemTransform>("Swap");
  swap->encodes<Tuple>([](const Tuple& t) { return Tuple{t[1], t[0]}; });
  Tuple out = (*swap)(Tuple{std::string("x"), std::string("y")});
  EXPECT_EQ(out[0].get<std::string>(), "y");
  EXPECT_EQ(out[1].get<std::string>(), "x");
}

TEST(Transform, ClassWideExtensionAppliesToEveryInstance) {
  extend_encodes<Heat>("AddTo", [](const Transform&, const Heat& h) { return Heat{h.celsius + 0.5}; });
  AddTo a(1.0), b(2.0);
  EXPECT_EQ(a(Item(Heat{1})).get<Heat>().celsius, 1.5);
  EXPECT_EQ(b(Item(Heat{2})).get<Heat>().celsius, 2.5);
  // an instance overload for the same type wins
  b.encodes<Heat>([](const Heat&) { return Heat{-1}; });
  EXPECT_EQ(b(Item(Heat{2})).get<Heat>().celsius, -1);
}

TEST(Pipeline, SortsByOrderStably) {
  auto a = std::make_shared<Tagger>("a", 5), b = std::make_shared<Tagger>("b", 1), c = std::make_shared<Tagger>("c", 5),
       d = std::make_shared<Tagger>("d", -2);
  Pipeline p({a, b, c, d});
  EXPECT_EQ(p(Item(std::string(">"))).get<std::string>(), ">dbac");
  EXPECT_EQ(p.to_string(), "Pipeline: Tagger -> Tagger -> Tagger -> Tagger");
  p.add(std::make_shared<Tagger>("e", 2));
  EXPECT_EQ(p(Item(std::string(""))).get<std::string>(), "dbeac");
  expect_error([] { Pipeline({nullptr}); }, {"transform 0 of 1 is null"});
}

TEST(Pipeline, SetupSeesItemsEncodedByEarlierTransforms) {
  auto a = std::make_shared<Tagger>("A", 1), b = std::make_shared<Tagger>("B", 2), c = std::make_shared<Tagger>("C", 3);
  Pipeline p({c, a, b});
  p.setup({Item(std::string("x")), Item(std::string("y"))});
  EXPECT_EQ(a->seen, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(b->seen, (std::vector<std::string>{"xA", "yA"}));
  EXPECT_EQ(c->seen, (std::vector<std::string>{"xAB", "yAB"}));
}

TEST(Pipeline, DecodeRunsInReverse) {
  auto mul = std::make_shared<Transform>("Mul", 1);
  mul->encodes<TensorImage>([](const TensorImage& x) { return TensorImage(x.data * 3); });
  mul->decodes<TensorImage>([](const TensorImage& x) { return TensorImage(x.data / 3); });
  Pipeline p({mul, std::make_shared<AddTo>(1.0, 0)});  // add 1 (order 0), then times 3
  Item x = TensorImage(at::full({2}, 2.0));
  Item e = p(x);
  EXPECT_EQ(first(e), 9.0);
  EXPECT_EQ(first(p.decode(e)), 2.0);
  Tuple t = p.decode(p(Tuple{x, Category{"c"}}));
  EXPECT_EQ(first(t[0]), 2.0);
  EXPECT_EQ(t[1].get<Category>().label, "c");
}

TEST(Pipeline, StateRoundTripRebuildsByName) {
  register_transform<AddTo>("AddTo");
  auto t = std::make_shared<AddTo>(2.5, 7);
  t->split_idx = 1;
  Pipeline p({t}, 1);
  nlohmann::json s = nlohmann::json::parse(p.state().dump());  // through text, as export writes it
  EXPECT_EQ(s["transforms"][0]["name"], "AddTo");
  EXPECT_EQ(s["transforms"][0]["state"]["amount"], 2.5);
  Pipeline q = Pipeline::from_state(s);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q.transforms()[0]->order, 7);
  EXPECT_EQ(q.transforms()[0]->split_idx, std::optional<int>(1));
  EXPECT_EQ(q.split_idx, std::optional<int>(1));
  Item x = TensorImage(at::zeros({1}));
  EXPECT_EQ(first(q(x)), 2.5);
  EXPECT_EQ(first(q(x, 0)), 0.0);
  EXPECT_EQ(q.state(), p.state());
}

TEST(Pipeline, StateErrorsNameWhatIsWrong) {
  auto anon = std::make_shared<Transform>("MyLambdaThing");
  Pipeline p({anon});
  expect_error([&] { Pipeline::from_state(p.state()); },
               {"cannot rebuild transform 'MyLambdaThing'", "register_transform", "Categorize"});
  expect_error([] { Pipeline::from_state(nlohmann::json::object()); }, {"'transforms' array"});
  expect_error([] { Pipeline::from_state(nlohmann::json::parse(R"({"transforms": [{"order": 1}]})")); },
               {"transform 0", "'name'"});
  register_transform<AddTo>("AddTo");
  expect_error([] { Pipeline::from_state(nlohmann::json::parse(R"({"transforms": [{"name": "AddTo", "state": {"x": 1}}]})")); },
               {"cannot rebuild transform 'AddTo'", "amount"});
  expect_error([] { make_transform("Nope", {}); }, {"'Nope'", "Normalize"});
}

}  // namespace transform_test
